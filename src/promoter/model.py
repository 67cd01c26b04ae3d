"""The plain data of a promotion: config, what was located, what a plan changes."""

from __future__ import annotations

import re

from promoter.records import field, record

TYPE_CHECKING = False  # typing is not imported at run time: a command's start-up is counted (bench/)
if TYPE_CHECKING:
    from typing import Literal

    from promoter.semver import Constraint, TagPattern, Version

    Format = Literal["sha", "short", "digest", "tag"]
else:
    Format = str


@record(frozen=True)
class SaasLocator:
    resource_template: str | None = None

    def describe(self) -> str:
        rt = f" resource_template={self.resource_template}" if self.resource_template else ""
        return f"saas{rt}"


@record(frozen=True)
class SaasTargetLocator:
    """One item of a saas file's `resourceTemplates[].targets[]` (app-interface native): in the
    resource templates named `resource_template` whose `url` is the component's, the
    `occurrence`-th target whose namespace `$ref`, `name` and selector are these. Identity by
    namespace and name, never by position alone, so that the same target is found in the file's
    older and newer versions (history) however the items around it move. `resource_template`
    None: the file is a `saas-file-target-1` file (a target written apart, `- $ref:` in the saas
    file): its top-level `ref`."""

    resource_template: str | None
    namespace: str | None = None  # the target's `namespace: {$ref: ...}`
    name: str | None = None  # the target's `name`
    selector: tuple[str, ...] = ()  # a `namespaceSelector` target: its include expressions
    occurrence: int = 0  # among the template's targets with this namespace, name and selector

    def describe(self) -> str:
        if self.resource_template is None:
            return "saas target file"
        who = self.name or self.namespace or ("namespaceSelector " + ", ".join(self.selector) if self.selector else "")
        nth = f" #{self.occurrence + 1}" if self.occurrence else ""
        return f"saas target {self.resource_template}: {who or 'without namespace or name'}{nth}"


@record(frozen=True)
class EnvLocator:
    key: str

    def describe(self) -> str:
        return f"env {self.key}"


@record(frozen=True)
class KeyLocator:
    name: str

    def describe(self) -> str:
        return f"key {self.name}"


@record(frozen=True)
class PathLocator:
    expr: str

    def describe(self) -> str:
        return f"path {self.expr}"


@record(frozen=True)
class RegexLocator:
    pattern: str

    def describe(self) -> str:
        return f"regex {self.pattern}"


Locator = SaasLocator | SaasTargetLocator | EnvLocator | KeyLocator | PathLocator | RegexLocator
YAML_LOCATORS = (SaasLocator, SaasTargetLocator, KeyLocator, PathLocator)


@record(frozen=True)
class NativeEnvironment:
    """An app-interface environment a native target deploys to (its namespace's environment)."""

    name: str  # the environment file's `name`
    type: str | None = None  # its `labels.type` (production, stage, ...)
    file: str | None = None  # the environment file, repo-relative


@record(frozen=True)
class PromotionData:
    """One item of a target's `promotion.promotion_data`: what the publisher of `channel` ran."""

    channel: str
    line: int
    data: tuple[tuple[tuple[str, str], ...], ...] = ()  # each data item's scalar fields, as written


@record(frozen=True)
class Promotion:
    """A target's `promotion:` block, parsed (its semantics: native.channels, policy.channels)."""

    line: int
    publish: tuple[str, ...] = ()
    subscribe: tuple[str, ...] = ()
    auto: bool = False
    soak_days: int | None = None
    schedule: str | None = None
    redeploy_on_publisher_config_change: bool | None = None
    promotion_data: tuple[PromotionData, ...] = ()


@record(frozen=True)
class NativeTarget:
    """Where a target of the app-interface native model comes from: its saas file, resource
    template and namespace, and its `promotion:` block."""

    saas_file: str  # repo-relative path of the saas file
    saas_name: str  # its `name`
    resource_template: str
    url: str  # the resource template's url, as written
    file: str  # where the target item is written: the saas file, or its saas-file-target file
    line: int  # the target item's first line there
    namespace: str | None = None  # the namespace `$ref` (None: a namespaceSelector)
    namespaces: tuple[str, ...] = ()  # the namespaces it deploys to (files, repo-relative)
    environments: tuple[NativeEnvironment, ...] = ()
    ref: str | None = None  # as written
    promotion: Promotion | None = None
    disabled: bool = False  # `disable: true` or `delete: true`

    @property
    def publish(self) -> tuple[str, ...]:
        return self.promotion.publish if self.promotion else ()

    @property
    def subscribe(self) -> tuple[str, ...]:
        return self.promotion.subscribe if self.promotion else ()

    @property
    def auto(self) -> bool:
        return self.promotion.auto if self.promotion else False


@record(frozen=True)
class Target:
    name: str
    environment: str
    file: str | None  # exactly one of file / files (a glob)
    files: str | None
    locator: Locator
    format: Format
    optional: bool
    line: int  # where the target starts in the config file (a native target: in `native.file`)
    tag_pattern: str | None = None  # format tag: how it writes a version (default v{semver})
    native: NativeTarget | None = None  # a target of the app-interface native model

    @property
    def where(self) -> str:
        return self.file if self.file is not None else f"{self.files} (glob)"

    @property
    def pattern(self) -> TagPattern:
        """How a `format: tag` target writes a version (`v{semver}` unless it says otherwise)."""
        return _pattern(self.tag_pattern)


@record(frozen=True)
class Release:
    """A release of the upstream: a git tag that names a semantic version, and its commit."""

    tag: str  # the git tag: v1.4.2
    version: str  # the semantic version it names: 1.4.2
    sha: str  # the commit it names (an annotated tag peeled)

    @property
    def semver(self) -> Version:
        from promoter.semver import parse

        v = parse(self.version)
        assert v is not None
        return v


@record(frozen=True)
class Trust:
    """What an image must prove before it is promoted (`trust:` of a component; fail closed).

    The signature: by the PEM public key `key` (a repository path), or keyless (Sigstore) by a
    certificate for `identity` (exact) or `identity_regexp` (anchored) from `issuer`. With
    `provenance`, an in-toto SLSA provenance attestation signed by the same trust must say the
    image was built from the promoted commit of `source`. `tlog`: `required` (a transparency log
    entry) or `ignore` (key mode only: cosign's --insecure-ignore-tlog)."""

    line: int
    source: str
    key: str | None = None
    key_line: int = 0
    identity: str | None = None
    identity_regexp: str | None = None
    issuer: str | None = None
    trusted_root: str | None = None  # keyless: a Sigstore trusted_root.json (repo path) of a private instance
    trusted_root_line: int = 0
    provenance: bool = False
    tlog: Literal["required", "ignore"] = "required"
    tlog_key: str | None = None  # key mode: the Rekor instance's public key (repo path; default: public-good's)
    tlog_key_line: int = 0

    @property
    def keyless(self) -> bool:
        return self.key is None


@record(frozen=True)
class Evidence:
    """What the trust gate verified of one image: shown in the merge request, the commit's
    trailers, reconcile and status."""

    digest: str  # the image digest verified
    signer: str  # `key sha256:<fingerprint>` or `<identity> (issuer <issuer>)`
    builder: str | None = None  # the provenance's builder id
    source: str | None = None  # the provenance's source repository
    commit: str | None = None  # the commit the provenance says it was built from
    tlog: bool = False  # a transparency log entry was verified

    def summary(self) -> str:
        built = f"; built by {self.builder} from {self.commit[:12]}" if self.builder and self.commit else ""
        tlog = "" if self.tlog else " (no transparency log: --insecure-ignore-tlog)"
        return f"signed by {self.signer}{tlog}{built}"

    def trailers(self) -> list[tuple[str, str]]:
        out = [("Trusted-Digest", self.digest), ("Trusted-Signer", self.signer)]
        if self.builder:
            out.append(("Trusted-Builder", self.builder))
        if self.commit:
            out.append(("Trusted-Source", f"{self.source or ''}@{self.commit}".lstrip("@")))
        out.append(("Trusted-Tlog", "verified" if self.tlog else "ignored"))
        return out


@record(frozen=True)
class Component:
    name: str
    repo: str
    fetch: str
    branch: str | None
    short_length: int
    targets: tuple[Target, ...]
    line: int
    image: str | None = None  # e.g. quay.io/app-sre/qontract-reconcile: gate promotions on its tag
    tag: str = "{short}"  # the image tag of a commit, over {sha} and {short}
    min_age: int = 0  # seconds a candidate must have been on the branch (soak time)
    depends_on: tuple[str, ...] = ()
    blocked: tuple[str, ...] = ()  # sha prefixes never promoted
    hotfix: tuple[str, ...] = ()  # sha prefixes that may skip soak and windows
    forge: str | None = None  # where its commits' statuses are read: "github" or "gitlab" (default: by host)
    forge_api: str | None = None  # that forge's API base (default: from the repo's URL)
    ignore: tuple[str, ...] = ()  # globs of files whose pins discover/check do not count as this component's
    constraint: str | None = None  # release tags: the versions it may be promoted to (`^1.4`)
    allow_prerelease: bool = False  # release tags: pre-releases (1.5.0-rc.1) are candidates too
    trust: Trust | None = None  # signatures and provenance its image must carry
    # where a version of `blocked`/`hotfix` comes from when an app-interface app file gives it
    # (`codeComponents[].blockedVersions`/`hotfixVersions`): (version, file, line)
    version_sources: tuple[tuple[str, str, int], ...] = ()

    @property
    def released(self) -> bool:
        """Whether its versions are release tags: a target of it pins one (`format: tag`)."""
        return any(t.format == "tag" for t in self.targets)

    def allows(self, version: Version, asked: bool = False) -> bool:
        """Whether a release of `version` may be promoted: within `constraint`, and no
        pre-release unless pre-releases are allowed (`allow_prerelease`, a constraint naming one,
        or the release `asked` for by name)."""
        if self.constraint is not None:
            return _constraint(self.constraint).allows(version, self.allow_prerelease or asked)
        return not version.prerelease or self.allow_prerelease or asked

    def release_version(self, value: str) -> Version | None:
        """The version a pinned value writes, read through its release tag targets' patterns."""
        for text in dict.fromkeys(t.tag_pattern for t in self.targets if t.format == "tag"):
            found = _pattern(text).read(value)
            if found is not None:
                return found
        return None

    def version_key(self, value: str) -> str:
        """What makes a pinned value one version among others: a release tag's semantic version
        (`v1.4.2` and `1.4.2` are one), a sha's short prefix, else the value itself."""
        if self.released and not _HEX.fullmatch(value):
            found = self.release_version(value)
            if found is not None:
                return str(found)
        return version_key(value, self.short_length)

    def pins(self, target: Target, value: str) -> bool:
        """Whether `value`, located by `target`, is a version it pins (else a tracking value)."""
        if target.format == "tag":
            return target.pattern.read(value) is not None
        return self.pinned(value, target.format)

    def is_blocked(self, sha: str) -> str | None:
        """The `blocked:` prefix that names `sha`, if any."""
        return next((p for p in self.blocked if sha.startswith(p)), None)

    def is_hotfix(self, sha: str) -> bool:
        return any(sha.startswith(p) for p in self.hotfix)

    def short(self, sha: str) -> str:
        return sha[: self.short_length]

    def image_tag(self, sha: str, release: Release | None = None) -> str:
        """The image tag of commit `sha` (released as `release`): `tag` over {sha}, {short}, {tag}
        and {version}."""
        tag, version = (release.tag, release.version) if release is not None else ("", "")
        return self.tag.format(sha=sha, short=self.short(sha), tag=tag, version=version)

    def render(self, sha: str, fmt: Format, digest: str | None = None) -> str:
        """The text a target of format `fmt` pins for commit `sha` (whose image has `digest`)."""
        if fmt == "digest":
            if digest is None:
                raise ValueError("a digest target needs the image digest")
            return digest
        return sha if fmt == "sha" else self.short(sha)

    def pinned(self, value: str, fmt: Format) -> bool:
        if fmt == "digest":
            return _DIGEST.fullmatch(value) is not None
        if fmt == "tag":
            return _pattern(None).read(value) is not None
        size = 40 if fmt == "sha" else self.short_length
        return len(value) == size and _HEX.fullmatch(value) is not None


_DIGEST = re.compile(r"sha256:[0-9a-f]{64}")
_HEX = re.compile(r"[0-9a-f]+")
_PATTERNS: dict[str | None, TagPattern] = {}
_CONSTRAINTS: dict[str, Constraint] = {}


def _pattern(text: str | None) -> TagPattern:
    """The tag pattern of `text` (None: the default), parsed once (the config checked it)."""
    if text not in _PATTERNS:
        from promoter.semver import TagPattern

        _PATTERNS[text] = TagPattern(text)
    return _PATTERNS[text]


def _constraint(text: str) -> Constraint:
    if text not in _CONSTRAINTS:
        from promoter.semver import Constraint

        _CONSTRAINTS[text] = Constraint(text)
    return _CONSTRAINTS[text]


def same_version(a: str, b: str, short_length: int) -> bool:
    """Whether two pinned values are one version: equal, or a sha and its short prefix (a
    release tag is never another's prefix: `v1.4` is not `v1.4.2`)."""
    if a == b:
        return True
    if _HEX.fullmatch(a) is None or _HEX.fullmatch(b) is None:
        return False
    return a[:short_length] == b[:short_length]


def version_key(value: str, short_length: int) -> str:
    """What makes a pinned value one version among others: a sha's short prefix, else the value."""
    return value[:short_length] if _HEX.fullmatch(value) is not None else value


@record(frozen=True)
class MergeRequestConfig:
    method: Literal["push-options", "api"] = "push-options"
    forge: Literal["gitlab", "github"] | None = None  # for the api method; default: from the remote's URL
    api_url: str | None = None
    target_branch: str | None = None  # default: the branch checked out when promoting
    branch: str = "promote/{component}-{short}"
    labels: tuple[str, ...] = ()
    reviewers: tuple[str, ...] = ()
    remove_source_branch: bool = True
    draft: bool = False
    reconcile_branch: str = "promote/{component}"  # reconcile's one branch per component
    sign: bool = False  # refuse unsigned promotion commits (git's commit.gpgsign signs them)


@record(frozen=True)
class Window:
    """When promotions into an environment may (allow) or may not (deny) land: from each time the
    cron expression names, in `timezone`, for `duration` seconds."""

    kind: Literal["allow", "deny"]
    cron: str  # 5 fields
    duration: int
    timezone: str  # an IANA name
    line: int = 0


@record(frozen=True)
class VerifyCheck:
    """A check the candidate must pass before it may be promoted into an environment."""

    kind: Literal["http", "command", "commit_status"]
    line: int
    url: str = ""  # http: GET it; the body must contain `expect` ({sha}, {short}, {environment} filled in)
    expect: str = ""
    headers: tuple[tuple[str, str], ...] = ()  # http: values may name ${ENV} variables
    command: tuple[str, ...] = ()  # command: argv (no shell), {sha} {short} {environment} filled in
    statuses: tuple[str, ...] = ()  # commit_status: the names that must have succeeded
    timeout: int = 60  # seconds per attempt
    retries: int = 2  # further attempts after a failure

    def describe(self) -> str:
        if self.kind == "http":
            return f"http {self.url}"
        if self.kind == "command":
            return "command " + " ".join(self.command)
        return "commit_status " + ", ".join(self.statuses)


@record(frozen=True)
class RollbackPolicy:
    """`rollback: {on: verify, grace: 15m}`: reconcile rolls the environment back by itself when
    what it runs, promoted and settled, fails its verify checks for longer than `grace`."""

    on: Literal["verify"] = "verify"
    grace: int = 900  # seconds
    line: int = 0


@record(frozen=True)
class EnvironmentPolicy:
    """The rules of one environment (`environments:` in promotion.yaml)."""

    name: str
    after: tuple[str, ...] = ()  # the candidate must be a version these environments ran...
    soak: int = 0  # ...for this many seconds (counted from when they first ran it)
    windows: tuple[Window, ...] = ()
    verify: tuple[VerifyCheck, ...] = ()
    line: int = 0
    rollback: RollbackPolicy | None = None  # opt-in: roll back by itself (reconcile)


NOTIFY_EVENTS = ("opened", "updated", "merged", "rollback", "blocked")


@record(frozen=True)
class NotifyTarget:
    """Where notifications go: a Slack incoming webhook, or a generic webhook (JSON)."""

    kind: Literal["slack", "webhook"]
    url: str  # may name ${VAR}s (a Slack webhook's URL is a secret)
    headers: tuple[tuple[str, str], ...] = ()  # values may name ${VAR}s; all stay on the URL's origin
    events: tuple[str, ...] = NOTIFY_EVENTS
    timeout: int = 10  # seconds for the whole exchange
    line: int = 0

    def describe(self) -> str:
        """How messages name it: never its URL, which may be a secret."""
        return f"{self.kind} (notify.to, line {self.line})"


@record(frozen=True)
class NotifyConfig:
    """`notify:` in promotion.yaml: who hears of reconcile's events, and when a stop is news."""

    to: tuple[NotifyTarget, ...] = ()
    blocked_after: int = 86400  # an environment stopped this long by the same gate is an event
    error_runs: int = 3  # an environment in error for this many runs in a row is an event
    state: str = "refs/promoter/notified"  # the ref, on the remote, that remembers what was sent


@record(frozen=True)
class NativeProblem:
    """Something wrong in what the config is built from, at file:line (a saas file whose
    namespace cannot be found, say): `check` reports it; the rest of the config stands."""

    file: str
    line: int
    message: str
    url: str | None = None  # the resource template's url, when one is concerned
    note: bool = False  # promoter's limit rather than the file's fault (a selector it cannot read)
    kind: str | None = None  # check's kind, when not native-unresolved (native-unsupported for a note)
    hint: str | None = None  # what to do, when not the kind's usual hint


@record(frozen=True)
class Config:
    path: str  # the config file as given
    root: str  # the repository root every target path is relative to
    components: dict[str, Component]
    merge_request: MergeRequestConfig = field(default_factory=MergeRequestConfig)
    people: dict[str, str] = field(default_factory=dict)  # author email or name -> chat/forge handle
    bots: tuple[str, ...] | None = None  # author patterns left out of "cc" (None: the defaults)
    ignore: tuple[str, ...] = ()  # globs of files `discover`/`check` do not scan for uncovered pins
    environments: dict[str, EnvironmentPolicy] = field(default_factory=dict)  # the policy of each environment
    holds: str = "promotion-holds.yaml"  # where holds are kept, relative to the repository root
    # "": promotion.yaml alone; "native": no promotion.yaml, the saas files are the config;
    # "merged": promotion.yaml's components and the saas files' merged by url
    origin: str = ""
    problems: tuple[NativeProblem, ...] = ()  # what building the native model found wrong (file, line, message)
    notify: NotifyConfig | None = None  # notifications of reconcile's events

    @property
    def shown(self) -> str:
        """How messages name where the components are defined."""
        if self.origin == "native":
            return "the saas files (no promotion.yaml)"
        return self.path if not self.origin else f"{self.path} and the saas files"

    def policy(self, environment: str) -> EnvironmentPolicy:
        return self.environments.get(environment) or EnvironmentPolicy(environment)


@record(frozen=True)
class Location:
    """One pinned value found in a file: `text[start:end] == value`."""

    target: Target
    file: str  # repo-relative, "/"-separated
    line: int
    column: int
    start: int
    end: int
    value: str
    plain_yaml: bool = False  # an unquoted YAML scalar: may need quotes for some new values
    # what it is: "pin" (a version), or "target_config_hash" (an app-interface subscriber's
    # promotion_data, rewritten when it moves: native.channels)
    kind: str = "pin"


@record(frozen=True)
class Tracking:
    """A value a target does not pin (a branch such as `master`): staging, never changed."""

    target: Target
    file: str
    line: int
    value: str


@record
class TargetScan:
    target: Target
    files: list[str] = field(default_factory=list)
    locations: list[Location] = field(default_factory=list)
    tracking: list[Tracking] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def values(self) -> list[str]:
        """The distinct pinned values, in the order found."""
        return list(dict.fromkeys(loc.value for loc in self.locations))


@record(frozen=True)
class Edit:
    location: Location
    new: str  # the text that replaces location.value (quotes included when added)


@record(frozen=True)
class FileChange:
    file: str
    old_text: str
    new_text: str
    edits: tuple[Edit, ...]
    created: bool = False  # the file does not exist yet (old_text is ""): the write creates it


@record(frozen=True)
class TargetChange:
    target: Target
    old_values: tuple[str, ...]
    new_value: str
    locations: int

    @property
    def changed(self) -> bool:
        return any(v != self.new_value for v in self.old_values)


@record
class Plan:
    component: Component
    sha: str
    targets: list[TargetChange]
    changes: list[FileChange]
    warnings: list[str] = field(default_factory=list)
    digest: str | None = None  # the candidate image's digest, when a target pins it
    evidence: Evidence | None = None  # what the trust gate verified of that image
    # an old value -> the full sha the upstream says it names (a short sha; a release tag: its
    # commit, or for a tag that moved since it was promoted, the commit it was promoted as)
    shas: dict[str, str] = field(default_factory=dict)
    release: Release | None = None  # the release tag promoted, when its targets pin tags

    @property
    def empty(self) -> bool:
        return not self.changes
