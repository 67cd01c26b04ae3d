"""The JSONPath subset over positioned YAML nodes: what each form selects, where, and what it refuses."""

from __future__ import annotations

import pytest

from promoter.locate.jsonpath import AliasOrDuplicateError, JsonPath, JsonPathError, compile_path
from promoter.locate.yamlnodes import Mapping, Node, Scalar, Sequence, compose

PROD_SHA = "4c3a1b2f8e9d0a7b6c5d4e3f2a1b0c9d8e7f6a5b"
INT_SHA = "9f8e7d6c5b4a39281706f5e4d3c2b1a098765432"
SERVER_SHA = "0123456789abcdef0123456789abcdef01234567"
QR_URL = "https://github.com/app-sre/qontract-reconcile"

SAAS = f"""\
---
$schema: /app-sre/saas-file-2.yml

labels: {{}}
name: saas-qontract-reconcile
description: qontract-reconcile deployments

app:
  $ref: /services/app-interface/app.yml

managedResourceTypes:
- Deployment
- ConfigMap

resourceTemplates:
- name: qontract-reconcile
  url: {QR_URL}
  path: /openshift/qontract-reconcile.yaml
  targets:
  - namespace:
      $ref: /services/app-interface/namespaces/app-interface-stage.yml
    name: app-interface-stage
    ref: master
    parameters:
      REPLICAS: 1
  - namespace:
      $ref: /services/app-interface/namespaces/app-interface-production.yml
    name: app-interface-production
    ref: {PROD_SHA}
    parameters:
      REPLICAS: 3
- name: qontract-reconcile-internal
  url: {QR_URL}
  path: /openshift/qontract-reconcile-internal.yaml
  targets:
  - name: app-interface-production
    namespace: {{$ref: /services/app-interface/namespaces/app-interface-production-int.yml}}
    ref: "{INT_SHA}"
    parameters: {{REPLICAS: '3'}}
- name: qontract-server
  url: https://github.com/app-sre/qontract-server
  path: /openshift/qontract-server.yaml
  targets:
  - name: app-interface-stage
    ref: master
  - name: app-interface-production
    ref: {SERVER_SHA}
"""

ALL_REFS = [(23, "master"), (29, PROD_SHA), (38, INT_SHA), (45, "master"), (47, SERVER_SHA)]


def described(node: Node) -> tuple[int, str]:
    """(line, text) of a scalar, (line, '<mapping>') or (line, '<sequence>') of a collection."""
    if isinstance(node, Scalar):
        return node.line, node.value
    return node.line, "<mapping>" if isinstance(node, Mapping) else "<sequence>"


def found(text: str, expr: str) -> list[tuple[int, str]]:
    return [described(node) for node in compile_path(expr).find(compose(text))]


@pytest.mark.parametrize(
    ("expr", "expected"),
    [
        # root, dotted and bracketed children
        ("$", [(2, "<mapping>")]),
        ("$.name", [(5, "saas-qontract-reconcile")]),
        ("$['name']", [(5, "saas-qontract-reconcile")]),
        ('$["name"]', [(5, "saas-qontract-reconcile")]),
        ("$[ 'name' ]", [(5, "saas-qontract-reconcile")]),
        ("$.$schema", [(2, "/app-sre/saas-file-2.yml")]),
        ("$.app.$ref", [(9, "/services/app-interface/app.yml")]),
        ("$['app']['$ref']", [(9, "/services/app-interface/app.yml")]),
        ("$.labels", [(4, "<mapping>")]),
        ("$.resourceTemplates[1].targets[0].namespace", [(37, "<mapping>")]),
        # indexes, negative indexes, out of range
        ("$.managedResourceTypes[0]", [(12, "Deployment")]),
        ("$.managedResourceTypes[1]", [(13, "ConfigMap")]),
        ("$.managedResourceTypes[-1]", [(13, "ConfigMap")]),
        ("$.managedResourceTypes[-2]", [(12, "Deployment")]),
        ("$.managedResourceTypes[2]", []),
        ("$.managedResourceTypes[-3]", []),
        ("$.resourceTemplates[-1].targets[-1].ref", [(47, SERVER_SHA)]),
        # wildcards
        ("$.managedResourceTypes[*]", [(12, "Deployment"), (13, "ConfigMap")]),
        ("$.managedResourceTypes.*", [(12, "Deployment"), (13, "ConfigMap")]),
        ("$.app.*", [(9, "/services/app-interface/app.yml")]),
        ("$.app[*]", [(9, "/services/app-interface/app.yml")]),
        ("$.resourceTemplates[*].targets[*].ref", ALL_REFS),
        (
            "$.resourceTemplates.*.name",
            [(16, "qontract-reconcile"), (32, "qontract-reconcile-internal"), (40, "qontract-server")],
        ),
        # the app-interface promotion path
        (
            f"$.resourceTemplates[?(@.url == '{QR_URL}')].targets[?(@.name == 'app-interface-production')].ref",
            [(29, PROD_SHA), (38, INT_SHA)],
        ),
        (
            '$.resourceTemplates[?(@.url == "https://github.com/app-sre/qontract-server")].targets[*].ref',
            [(45, "master"), (47, SERVER_SHA)],
        ),
        ("$.resourceTemplates[?(@.name == 'qontract-server')]", [(40, "<mapping>")]),
        # != and &&
        (
            "$.resourceTemplates[*].targets[?(@.ref != 'master')].name",
            [(28, "app-interface-production"), (36, "app-interface-production"), (46, "app-interface-production")],
        ),
        (
            f"$.resourceTemplates[?(@.url == '{QR_URL}' && @.name != 'qontract-reconcile-internal')]"
            ".targets[?(@.name == 'app-interface-production' && @.ref != 'master')].ref",
            [(29, PROD_SHA)],
        ),
        (
            "$.resourceTemplates[*].targets[?(@.name=='app-interface-stage'&&@.ref=='master'"
            "&&@.parameters.REPLICAS==1)].ref",
            [(23, "master")],
        ),
        ("$.resourceTemplates[*].targets[?(@.name == 'app-interface-stage' && @.ref == 'nope')].ref", []),
        # nested fields, bracketed fields, integers compared as text, @ itself
        (
            "$.resourceTemplates[*].targets"
            "[?(@.namespace.$ref == '/services/app-interface/namespaces/app-interface-production-int.yml')].ref",
            [(38, INT_SHA)],
        ),
        (
            "$.resourceTemplates[*].targets"
            "[?(@['namespace']['$ref'] == '/services/app-interface/namespaces/app-interface-stage.yml')].ref",
            [(23, "master")],
        ),
        (
            "$.resourceTemplates[*].targets[?(@.parameters.REPLICAS == 3)].name",
            [(28, "app-interface-production"), (36, "app-interface-production")],
        ),
        ("$.resourceTemplates[*].targets[?(@.parameters.REPLICAS == 03)].name", []),
        ("$.managedResourceTypes[?(@ == 'ConfigMap')]", [(13, "ConfigMap")]),
        # missing or non-scalar fields never match, not even with !=
        (
            "$.resourceTemplates[*].targets[?(@.namespace.$ref != 'elsewhere')].name",
            [(22, "app-interface-stage"), (28, "app-interface-production"), (36, "app-interface-production")],
        ),
        ("$.resourceTemplates[?(@.targets != 'x')]", []),
        ("$.resourceTemplates[?(@.targets.name == 'app-interface-stage')]", []),
        # filters apply to sequence items only
        ("$.app[?(@.$ref == '/services/app-interface/app.yml')]", []),
        ("$[?(@.name == 'saas-qontract-reconcile')]", []),
        # recursive descent
        ("$..ref", ALL_REFS),
        ("$..*..ref", ALL_REFS),
        ("$..targets..ref", ALL_REFS),
        (
            "$..$ref",
            [
                (9, "/services/app-interface/app.yml"),
                (21, "/services/app-interface/namespaces/app-interface-stage.yml"),
                (27, "/services/app-interface/namespaces/app-interface-production.yml"),
                (37, "/services/app-interface/namespaces/app-interface-production-int.yml"),
            ],
        ),
        (
            "$.resourceTemplates[0]..name",
            [(16, "qontract-reconcile"), (22, "app-interface-stage"), (28, "app-interface-production")],
        ),
        (
            "$..targets[0].name",
            [(22, "app-interface-stage"), (36, "app-interface-production"), (44, "app-interface-stage")],
        ),
        ("$..[?(@.name == 'app-interface-stage')].ref", [(23, "master"), (45, "master")]),
        ("$..[?(@.ref == 'master')]", [(20, "<mapping>"), (44, "<mapping>")]),
        ("$..['REPLICAS']", [(25, "1"), (31, "3"), (39, "3")]),
        ("$..[1]", [(13, "ConfigMap"), (26, "<mapping>"), (32, "<mapping>"), (46, "<mapping>")]),
        ("$.app..*", [(9, "/services/app-interface/app.yml")]),
        (
            "$.resourceTemplates[2]..[*]",
            [
                (40, "qontract-server"),
                (41, "https://github.com/app-sre/qontract-server"),
                (42, "/openshift/qontract-server.yaml"),
                (44, "<sequence>"),
                (44, "<mapping>"),
                (44, "app-interface-stage"),
                (45, "master"),
                (46, "<mapping>"),
                (46, "app-interface-production"),
                (47, SERVER_SHA),
            ],
        ),
        # nothing to select
        ("$.nope", []),
        ("$.name.nope", []),
        ("$.name[0]", []),
        ("$.name[*]", []),
        ("$.app[0]", []),
        ("$.managedResourceTypes.nope", []),
        ("$.managedResourceTypes.0", []),
        ("$..nope", []),
        ("$.resourceTemplates[?(@.url == 'https://example.com/other')].targets[*].ref", []),
    ],
)
def test_saas_file(expr: str, expected: list[tuple[int, str]]) -> None:
    assert found(SAAS, expr) == expected


MULTI = """\
---
name: one
ref: master
---
---
# only a comment
---
- name: two
  ref: deadbeef
---
name: three
nested: {ref: cafe}
ref: "0123"
"""

FLOW = """\
resourceTemplates: [
  {name: a, targets: [{name: prod, ref: abc}]},
  {name: b, targets: [{name: prod, ref: def}, {name: stage, ref: master}]}
]
versions: [1.0, 2.0, "3.0"]
"""

SPECIAL = """\
"it's": quoted
'a"b': double
a.b: dotted
a/b: slashed
0: zero
-x_y$: dashed
"""


@pytest.mark.parametrize(
    ("text", "expr", "expected"),
    [
        (MULTI, "$.ref", [(3, "master"), (13, "0123")]),
        (MULTI, "$..ref", [(3, "master"), (9, "deadbeef"), (12, "cafe"), (13, "0123")]),
        (MULTI, "$[0].ref", [(9, "deadbeef")]),
        (MULTI, "$[?(@.name == 'two')].ref", [(9, "deadbeef")]),
        (MULTI, "$", [(2, "<mapping>"), (5, ""), (7, ""), (8, "<sequence>"), (11, "<mapping>")]),
        ("{ref: x}", "$.ref", [(1, "x")]),
        ("{ref: x}\n", "$['ref']", [(1, "x")]),
        (FLOW, "$.resourceTemplates[?(@.name == 'b')].targets[?(@.name == 'prod')].ref", [(3, "def")]),
        (FLOW, "$..targets[?(@.name == 'prod')].ref", [(2, "abc"), (3, "def")]),
        (FLOW, "$.resourceTemplates[-1].targets[-1].ref", [(3, "master")]),
        (FLOW, "$.versions[?(@ != '2.0')]", [(5, "1.0"), (5, "3.0")]),
        (FLOW, "$.versions[*]", [(5, "1.0"), (5, "2.0"), (5, "3.0")]),
        (SPECIAL, '$["it\'s"]', [(1, "quoted")]),
        (SPECIAL, "$['it\\'s']", [(1, "quoted")]),
        (SPECIAL, "$['a\"b']", [(2, "double")]),
        (SPECIAL, "$['a.b']", [(3, "dotted")]),
        (SPECIAL, "$.a.b", []),
        (SPECIAL, "$['a/b']", [(4, "slashed")]),
        (SPECIAL, "$.0", [(5, "zero")]),
        (SPECIAL, "$['0']", [(5, "zero")]),
        (SPECIAL, "$[0]", []),
        (SPECIAL, "$.-x_y$", [(6, "dashed")]),
        ("", "$", []),
        ("", "$..ref", []),
        ("just a scalar\n", "$", [(1, "just a scalar")]),
        ("just a scalar\n", "$.ref", []),
    ],
)
def test_other_inputs(text: str, expr: str, expected: list[tuple[int, str]]) -> None:
    assert found(text, expr) == expected


def test_results_are_the_nodes_themselves() -> None:
    roots = compose(SAAS)
    [node] = compile_path("$.resourceTemplates[0].targets[1].ref").find(roots)
    assert isinstance(node, Scalar)
    assert SAAS[node.start : node.end] == PROD_SHA
    [seq] = compile_path("$.managedResourceTypes").find(roots)
    assert isinstance(seq, Sequence)
    assert [described(item) for item in seq.items] == [(12, "Deployment"), (13, "ConfigMap")]


DUPLICATE = """\
targets:
- name: prod
  ref: one
  namespace: x
  ref: two
- name: stage
  name: again
  name: thrice
  ref: master
"""


@pytest.mark.parametrize(
    ("expr", "line", "message"),
    [
        ("$.targets[0].ref", 5, "key 'ref' appears twice in one mapping (lines 3 and 5)"),
        ("$..ref", 5, "key 'ref' appears twice in one mapping (lines 3 and 5)"),
        ("$.targets[?(@.ref == 'one')]", 5, "key 'ref' appears twice in one mapping (lines 3 and 5)"),
        ("$.targets[1].name", 7, "key 'name' appears 3 times in one mapping (lines 6, 7 and 8)"),
        ("$.targets[?(@.name == 'stage')].ref", 7, "key 'name' appears 3 times in one mapping (lines 6, 7 and 8)"),
    ],
)
def test_duplicate_key_needed(expr: str, line: int, message: str) -> None:
    with pytest.raises(AliasOrDuplicateError) as info:
        compile_path(expr).find(compose(DUPLICATE))
    assert (info.value.line, str(info.value)) == (line, message)


@pytest.mark.parametrize(
    ("expr", "expected"),
    [
        ("$.targets[0].namespace", [(4, "x")]),
        ("$.targets[1].ref", [(9, "master")]),
        (
            "$.targets[*].*",
            [(2, "prod"), (3, "one"), (4, "x"), (5, "two"), (6, "stage"), (7, "again"), (8, "thrice"), (9, "master")],
        ),
    ],
)
def test_duplicate_key_not_needed(expr: str, expected: list[tuple[int, str]]) -> None:
    assert found(DUPLICATE, expr) == expected


ALIASES = """\
defaults: &defaults
  ref: master
pinned: &pin 0123456789abcdef0123456789abcdef01234567
targets:
- name: a
  config: *defaults
- name: b
  ref: *pin
- *defaults
named:
- name: *pin
job:
  <<: *local_defaults
  name: uses-defaults-from-another-file
"""


def alias_message(name: str, line: int) -> str:
    return f"path goes through alias *{name} at line {line}; editing it would change every place that uses the anchor"


@pytest.mark.parametrize(
    ("expr", "line", "name"),
    [
        ("$.targets[0].config", 6, "defaults"),
        ("$.targets[0].config.ref", 6, "defaults"),
        ("$.targets[0].config[*]", 6, "defaults"),
        ("$.targets[1].ref", 8, "pin"),
        ("$.targets[2]", 9, "defaults"),
        ("$.targets[-1].ref", 9, "defaults"),
        ("$.targets[*]", 9, "defaults"),
        ("$.targets.*.name", 9, "defaults"),
        ("$.targets[?(@.name == 'a')]", 9, "defaults"),
        ("$.named[?(@.name == 'x')]", 11, "pin"),
        ("$..ref", 8, "pin"),
        ("$..[*]", 9, "defaults"),
        ("$..name", 11, "pin"),
        ("$.job['<<']", 13, "local_defaults"),
        ("$.job.*", 13, "local_defaults"),
    ],
)
def test_path_through_alias(expr: str, line: int, name: str) -> None:
    with pytest.raises(AliasOrDuplicateError) as info:
        compile_path(expr).find(compose(ALIASES))
    assert (info.value.line, str(info.value)) == (line, alias_message(name, line))


@pytest.mark.parametrize(
    ("expr", "expected"),
    [
        ("$.defaults.ref", [(2, "master")]),
        ("$.targets[0].name", [(5, "a")]),
        ("$.targets[1].name", [(7, "b")]),
        ("$.job.name", [(14, "uses-defaults-from-another-file")]),
        ("$.job.ref", []),
        ("$.targets[0]..name", [(5, "a")]),
    ],
)
def test_aliases_off_the_path(expr: str, expected: list[tuple[int, str]]) -> None:
    assert found(ALIASES, expr) == expected


def test_anchored_scalar_is_returned_for_the_caller_to_refuse() -> None:
    [node] = compile_path("$.pinned").find(compose(ALIASES))
    assert isinstance(node, Scalar)
    assert (node.line, node.value, node.anchor) == (3, "0123456789abcdef0123456789abcdef01234567", "pin")


@pytest.mark.parametrize(
    ("expr", "message"),
    [
        ("", "column 1: empty expression"),
        ("   ", "column 1: empty expression"),
        ("a.b", "column 1: expected '$' at the start of the expression"),
        ("@.a", "column 1: expected '$' at the start of the expression"),
        (".a", "column 1: expected '$' at the start of the expression"),
        (" $.a", "column 1: unexpected whitespace outside brackets"),
        # unclosed brackets
        ("$.a[", "column 5: expected a quoted name, an index, '*' or '?(' after '['"),
        ("$.a[0", "column 6: expected ']' after index"),
        ("$.resourceTemplates[0", "column 22: expected ']' after index"),
        ("$.a[-1 .b", "column 8: expected ']' after index"),
        ("$.a['b'", "column 8: expected ']' after name"),
        ("$.a[*", "column 6: expected ']' after '*'"),
        ("$.a[?(@.b == 'c')", "column 18: expected ']' after the filter"),
        ("$.a[?(@.b == 'c'", "column 17: expected '&&' or ')' after the comparison"),
        ("$.a[?(@.b == 'c']", "column 17: expected '&&' or ')' after the comparison"),
        ("$.a[?(@['b' == 'c')]", "column 13: expected ']' after name"),
        # missing quotes
        ("$.a[?(@.b == 'c)]", "column 14: expected a closing ' for the string that starts here"),
        ('$["a]', 'column 3: expected a closing " for the string that starts here'),
        ("$['a\\']", "column 3: expected a closing ' for the string that starts here"),
        # operators
        ("$.a[?(@.b = 'c')]", "column 11: unknown operator '=', expected '==' or '!='"),
        ("$.a[?(@.b === 'c')]", "column 11: unknown operator '===', expected '==' or '!='"),
        ("$.a[?(@.b < 3)]", "column 11: unknown operator '<', expected '==' or '!='"),
        ("$.a[?(@.b =~ 'c')]", "column 11: unknown operator '=~', expected '==' or '!='"),
        ("$.a[?(@.b == 'c' || @.b == 'd')]", "column 18: unknown operator '||', expected '&&' or ')'"),
        ("$.a[?(@.b == 'c' & @.b == 'd')]", "column 18: unknown operator '&', expected '&&' or ')'"),
        ("$.a[?(@.b)]", "column 10: expected '==' or '!=' after the field"),
        # trailing garbage
        ("$.a]", "column 4: expected '.', '..', '[' or the end of the expression"),
        ("$.a)", "column 4: expected '.', '..', '[' or the end of the expression"),
        ("$.a'b'", "column 4: expected '.', '..', '[' or the end of the expression"),
        ("$foo", "column 2: expected '.', '..', '[' or the end of the expression"),
        ("$.a[0]x", "column 7: expected '.', '..', '[' or the end of the expression"),
        ("$.a b", "column 4: unexpected whitespace outside brackets"),
        ("$.a ", "column 4: unexpected whitespace outside brackets"),
        ("$.a#", "column 4: unexpected character '#'"),
        ("$[1:2]", "column 4: unexpected character ':'"),
        ("$['a','b']", "column 6: unexpected character ','"),
        # what follows '.', '..', '[', '?', '@', an operator
        ("$.", "column 3: expected a name or '*' after '.'"),
        ("$.[0]", "column 3: expected a name or '*' after '.'"),
        ("$..", "column 4: expected a name, '*' or '[' after '..'"),
        ("$...a", "column 4: expected a name, '*' or '[' after '..'"),
        ("$[a]", "column 3: expected a quoted name, an index, '*' or '?(' after '['"),
        ("$[?@.a == 'b']", "column 4: expected '(' after '?'"),
        ("$[?(a == 'b')]", "column 5: expected '@' at the start of a filter test"),
        ("$[?(@.a == 'b' &&)]", "column 18: expected '@' at the start of a filter test"),
        ("$[?(@.a == b)]", "column 12: expected a quoted string or an integer after '=='"),
        ("$[?(@.a != )]", "column 12: expected a quoted string or an integer after '!='"),
        ("$[?(@.)]", "column 7: expected a name after '.'"),
        ("$[?(@[a] == 'b')]", "column 7: expected a quoted name after '['"),
    ],
)
def test_bad_expression(expr: str, message: str) -> None:
    with pytest.raises(JsonPathError) as info:
        compile_path(expr)
    assert str(info.value) == message
    assert info.value.column == int(message.split(":")[0].removeprefix("column "))
    assert isinstance(info.value, ValueError)


def test_compile_is_eager_and_values_compare_by_expression() -> None:
    with pytest.raises(JsonPathError):
        JsonPath("$.a[")
    path = compile_path("$..ref")
    assert path == JsonPath("$..ref")
    assert path.expr == "$..ref"
    assert repr(path) == "JsonPath(expr='$..ref')"
    assert path.find([]) == []
