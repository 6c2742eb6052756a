# Copyright: (c) 2026, bookwyrm.s3 contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

import pytest
import yaml
from ansible.plugins.doc_fragments.action_common_attributes import ModuleDocFragment as ActionCommon
from ansible_collections.amazon.aws.plugins.doc_fragments import boto3, common, region
from ansible_collections.bookwyrm.s3.plugins.doc_fragments import attributes, s3_connection
from ansible_collections.bookwyrm.s3.plugins.plugin_utils._doc_fragments import composed

FIRST = """
options:
  name: {description: first, type: str}
attributes:
  check_mode: {support: full}
notes: [one]
requirements: [boto3]
"""
SECOND = """
options:
  name: {description: second, type: str, default: x}
  other: {description: other, type: int}
attributes:
  check_mode: {description: can run in check mode, support: none}
notes: [two, one]
requirements: [boto3, botocore]
"""


def test_the_first_fragment_wins_a_clash_and_lists_are_appended_once():
    doc = yaml.safe_load(composed(FIRST, SECOND))
    assert doc["options"]["name"] == {"description": "first", "type": "str", "default": "x"}
    assert doc["options"]["other"]["type"] == "int"
    assert doc["attributes"]["check_mode"] == {"description": "can run in check mode", "support": "full"}
    assert doc["notes"] == ["one", "two"]
    assert doc["requirements"] == ["boto3", "botocore"]


def test_a_section_it_cannot_merge_is_refused():
    with pytest.raises(ValueError, match="short_description"):
        composed(FIRST, "short_description: nope")


def options_of(document):
    return set(yaml.safe_load(document).get("options") or {})


def test_s3_connection_holds_every_amazon_aws_option_and_ours():
    doc = yaml.safe_load(s3_connection.ModuleDocFragment().DOCUMENTATION)
    amazon = [common.ModuleDocFragment.MODULES, region.ModuleDocFragment.MODULES, boto3.ModuleDocFragment().MODULES]
    wanted = set().union(*(options_of(d) for d in amazon)) | options_of(s3_connection.ModuleDocFragment.S3_COMPATIBLE)
    assert {"access_key", "secret_key", "endpoint_url", "region", "addressing_style"} <= wanted
    assert set(doc["options"]) == wanted
    assert any(r.startswith("boto3") for r in doc["requirements"])
    assert any("checksum" in note for note in doc["notes"])


def test_no_amazon_aws_option_carries_a_version_that_would_be_shown_as_ours():
    # ansible-doc dates a composed fragment's versions to this collection: when amazon.aws
    # adds version_added to these options, the fragment must keep their collection.
    for document in (common.ModuleDocFragment.MODULES, region.ModuleDocFragment.MODULES):
        assert "version_added" not in document and "removed_in" not in document


def test_attributes_keep_ansible_core_descriptions_and_say_what_we_support():
    doc = yaml.safe_load(attributes.ModuleDocFragment().DOCUMENTATION)["attributes"]
    core = yaml.safe_load(ActionCommon.DOCUMENTATION)["attributes"]
    for name in core:
        assert doc[name]["description"] == core[name]["description"]
    assert doc["check_mode"]["support"] == doc["diff_mode"]["support"] == doc["idempotent"]["support"] == "full"
