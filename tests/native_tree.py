"""A small app-interface checkout for the native model's tests: saas files (both schemas) with
inline targets, a target written apart (`- $ref:` to a saas-file-target file), a namespaceSelector,
two urls of one repository and two repositories sharing a last path segment; namespaces on two
clusters; two environments. No promotion.yaml."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import make_repo

SHOP = "https://github.com/acme/shop"
TOOLS = "https://gitlab.example.com/tools/shop"
CART = "https://github.com/acme/cart"
SHA0 = "0" * 39 + "1"  # what shop's dashboards run in stage
SHA1 = "1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e"  # what shop runs in production
SHA_T = "7" * 40  # tools
SHA_C = "c0ffee" + "0" * 34  # cart
SAAS = "data/services/shop/cicd/saas-shop.yaml"
TARGET_FILE = "data/services/shop/cicd/targets/dashboards-stage.yml"
CART_SAAS = "data/services/cart/cicd/deploy.yml"


def _env(name: str, kind: str) -> str:
    return f"---\n$schema: /app-sre/environment-1.yml\n\nlabels:\n  type: {kind}\n\nname: {name}\ndescription: x\n"


def _namespace(name: str, cluster: str, env: str) -> str:
    return f"""---
$schema: /openshift/namespace-1.yml

labels: {{}}

name: {name}
description: {name} on {cluster}

cluster:
  $ref: /openshift/{cluster}/cluster.yml

app:
  $ref: /services/shop/app.yml

environment:
  $ref: /products/shop/environments/{env}.yml

openshiftResources:
- provider: resource
  path: /shop/configmap.yml
"""


SAAS_TEXT = f"""---
$schema: /app-sre/saas-file-2.yml

labels:
  service: shop

name: saas-shop
description: the shop

app:
  $ref: /services/shop/app.yml

resourceTemplates:
- name: shop
  url: {SHOP}
  path: /openshift/shop.yaml
  targets:
  - namespace:
      $ref: /services/shop/namespaces/shop-stage.yml
    ref: master  # stage follows the branch
    promotion:
      publish:
      - shop-stage-deploy-success
  - namespace:
      $ref: /services/shop/namespaces/shop-production-east.yml
    ref: "{SHA1}"   # v1.2.3
    promotion:
      auto: true
      subscribe:
      - shop-stage-deploy-success
      soakDays: 1
      schedule: "0 8 * * 1-5"
      promotion_data:
      - channel: shop-stage-deploy-success
        data:
        - parent_saas: saas-shop
          target_config_hash: 0123456789abcdef
          type: parent_saas_config
  - ref: {SHA1}  \n    namespace:
      $ref: /services/shop/namespaces/shop-production-west.yml
- name: shop-dashboards
  url: {SHOP}.git
  path: /dashboards
  targets:
  - namespace: {{$ref: /services/shop/namespaces/monitoring-production.yml}}
    ref: '{SHA1}'
  - $ref: /services/shop/cicd/targets/dashboards-stage.yml
- name: tools
  url: {TOOLS}
  path: /deploy.yaml
  targets:
  - namespace:
      $ref: /services/shop/namespaces/shop-stage.yml
    ref: {SHA_T}
"""

TARGET_TEXT = f"""---
$schema: /app-sre/saas-file-target-1.yml
namespace:
  $ref: /services/shop/namespaces/shop-stage.yml
ref: {SHA0}
"""

CART_TEXT = f"""---
"$schema": "/app-sre/saas-file-1.yml"
name: cart
resourceTemplates:
- name: cart
  url: {CART}
  path: /deploy.yaml
  targets:
  - namespace: {{$ref: /services/shop/namespaces/shop-stage.yml}}
    ref: main
  - name: cart-canary
    namespace: {{$ref: /services/shop/namespaces/shop-production-east.yml}}
    ref: {SHA_C}
  - name: cart-main
    namespace: {{$ref: /services/shop/namespaces/shop-production-east.yml}}
    ref: {SHA_C}
  - namespaceSelector:
      jsonPathSelectors:
        include:
        - namespace[?(@.cluster.name == 'west')]
    provider: dynamic
    ref: {SHA_C}
"""

FILES: dict[str, str] = {
    "data/products/shop/environments/stage.yml": _env("shop-stage", "stage"),
    "data/products/shop/environments/production.yml": _env("shop-production", "production"),
    "data/openshift/east/cluster.yml": "---\n$schema: /openshift/cluster-1.yml\nname: east\n",
    "data/openshift/west/cluster.yml": "---\n$schema: /openshift/cluster-1.yml\nname: west\n",
    "data/services/shop/app.yml": "---\n$schema: /app-sre/app-1.yml\nname: shop\n",
    "data/services/shop/namespaces/shop-stage.yml": _namespace("shop-stage", "east", "stage"),
    "data/services/shop/namespaces/shop-production-east.yml": _namespace("shop", "east", "production"),
    "data/services/shop/namespaces/shop-production-west.yml": _namespace("shop", "west", "production"),
    "data/services/shop/namespaces/monitoring-production.yml": _namespace("monitoring", "east", "production"),
    SAAS: SAAS_TEXT,
    TARGET_FILE: TARGET_TEXT,
    CART_SAAS: CART_TEXT,
    # it names the saas schema, and is no saas file
    "data/app-interface/docs.yml": "---\n$schema: /app-sre/document-1.yml\nname: see /app-sre/saas-file-2.yml\n",
    "README.md": "an app-interface checkout\n",
}


# what computing a publisher's target_config_hash needs beyond FILES: the qontract-reconcile version
# (.env) and the clusters' serverUrl
HASHABLE: dict[str, str] = {
    ".env": "export RECONCILE_IMAGE_TAG=862eebc\n",
    "data/openshift/east/cluster.yml": "---\n$schema: /openshift/cluster-1.yml\nname: east\nserverUrl: https://east.example\n",
    "data/openshift/west/cluster.yml": "---\n$schema: /openshift/cluster-1.yml\nname: west\nserverUrl: https://west.example\n",
}


def native_repo(root: Path, extra: dict[str, str] | None = None) -> Path:
    """The tree above (with `extra` files) as a git repository with one commit."""
    return make_repo(root, {**FILES, **(extra or {})})
