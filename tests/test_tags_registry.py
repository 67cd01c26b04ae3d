"""The image gate of a component pinned by release tags, against Debian's docker-registry on
127.0.0.1 (the full tier): the image tag is `{tag}` by default, the release tag itself; a release
whose image is not built yet is passed over for the highest one that has it (none above the one
that runs: nothing to change); `format: digest` targets pin the digest of that release's image."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from tests import tags_fixture as t
from tests.conftest import RunResult

Run = Callable[..., RunResult]


def test_the_image_of_a_release_is_its_tag(tmp_path: Path, run: Run, registry) -> None:  # type: ignore[no-untyped-def]
    image = f"{registry.host}/tags/app"
    up, repo, shas = t.build(tmp_path, image=image)
    code, out, err = run("-C", repo, "plan", "app")  # nothing above v1.4.2 has its image: nothing to change
    assert code == 0, out + err
    assert out.endswith(
        "app: nothing to change: staging runs v1.4.2, integration runs 1.4.2, production runs v1.4.2; "
        "no higher release on main may be promoted now to all of them\n"
    ), out
    for tag in ("v1.10.0", "v1.5.0"):  # {tag}: the release's own tag
        assert f"note: skipped {tag}: no image {image}:{tag} yet\n" in err, err

    registry.push_image("tags/app", "v1.5.0")
    code, out, err = run("-C", repo, "plan", "app")
    assert code == 0 and "v1.4.2 -> v1.5.0" in out, err
    assert f"note: skipped v1.10.0: no image {image}:v1.10.0 yet" in err

    code, out, err = run("-C", repo, "plan", "app", "v1.10.0")
    assert code == 3 and f"app: image {image}:v1.10.0 does not exist (not built yet?)" in err

    t.set_config(repo, up, image=image, tag="{version}")  # images tagged 1.10.0, the git tag v1.10.0
    digest = registry.push_image("tags/app", "1.10.0")
    code, out, err = run("-C", repo, "plan", "app")
    assert code == 0 and "v1.4.2 -> v1.10.0" in out, err

    (repo / "digest.yaml").write_text(f"image: {image}@sha256:{'0' * 64}\n")
    pinned = {
        "name": "pinned",
        "environment": "production",
        "file": "digest.yaml",
        "regex": "@(?P<version>sha256:[0-9a-f]{64})",
        "format": "digest",
    }
    t.set_config(repo, up, (pinned,), image=image, tag="{version}")
    code, out, err = run("-C", repo, "promote", "app", "--env", "production", "--yes")
    assert code == 0, err
    assert (repo / "digest.yaml").read_text() == f"image: {image}@{digest}\n"
    assert (repo / t.HELM).read_text() == t.files("1.10.0")[t.HELM]
