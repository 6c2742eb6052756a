#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, bookwyrm.s3 contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: reclaim
short_description: Free the disk of local media files that the bucket holds, or bring them back
version_added: 0.1.0
description:
  - With O(state=reclaimed), removes each local media file whose object under O(prefix) in the
    bucket has the same size and content. The content is compared with what the bucket answers,
    never assumed; the MD5 ETag of the listing, the multipart ETag computed from the local file,
    or, when neither tells (another part size, an encrypted object, an empty ETag), the object
    streamed back and hashed.
  - Before a file is removed it is appended to O(manifest) (JSON lines, mode C(0600)) with its
    path, size, MD5, key, mode and owner, and the manifest is synced to disk.
  - A file missing from the bucket, of another size, or with other content is kept and reported.
  - With O(state=restored), brings every file of the manifest back from the bucket, checks its
    size and MD5 against the manifest before it takes its place, and gives it its mode and owner.
    A file already there with the manifest's content counts as present; a different file there is
    kept and reported as a conflict. Fails when a file cannot be brought back.
  - Directories are never removed, and nothing in the bucket is changed.
author:
  - bookwyrm.s3 contributors (@bookwyrm-s3)
options:
  path:
    description: The local media tree (the media volume's mount point, or C(images/) of a dockerless install).
    type: path
    required: true
  bucket:
    description: The bucket holding the media.
    type: str
    required: true
  prefix:
    description: Key prefix of the media in the bucket.
    type: str
    default: images
  manifest:
    description: The manifest on the host; created when missing, only ever appended to.
    type: path
    required: true
  state:
    description:
      - V(reclaimed) removes the local files the bucket holds.
      - V(restored) brings every file of the manifest back.
    type: str
    choices: [reclaimed, restored]
    default: reclaimed
  report_limit:
    description: How many paths the result lists for each kind (removed, kept, restored, conflicts).
    type: int
    default: 100
extends_documentation_fragment:
  - bookwyrm.s3.attributes
  - bookwyrm.s3.s3_connection
attributes:
  check_mode:
    details: >-
      Compares as a real run does and reports the files that would go (or come back) and the bytes,
      changing nothing.
  diff_mode:
    details: The diff lists (a sample of) the files that would go or come back.
  platform:
    platforms: posix
  idempotent:
    details:
      - A second run finds nothing left to remove (or to bring back); the manifest gets only new entries.
notes:
  - Run it only on an instance that serves its media from the bucket (the role's C(reclaim.yml) runs verify first).
"""

EXAMPLES = r"""
- name: Free the disk (after verify has passed)
  bookwyrm.s3.reclaim:
    path: /var/lib/docker/volumes/bookwyrm_media_volume/_data
    bucket: example-bookwyrm-media
    manifest: /opt/bookwyrm/bookwyrm-s3-reclaimed.jsonl
    endpoint_url: https://s3.fr-par.scw.cloud
    access_key: "{{ vault_s3_access_key }}"
    secret_key: "{{ vault_s3_secret_key }}"

- name: Bring the files back before going local again
  bookwyrm.s3.reclaim:
    path: /opt/bookwyrm/images
    bucket: example-bookwyrm-media
    manifest: /opt/bookwyrm/bookwyrm-s3-reclaimed.jsonl
    state: restored
"""

RETURN = r"""
removed:
  description: Files removed (in check mode, that would be removed).
  returned: state=reclaimed
  type: int
  sample: 4821
bytes_freed:
  description: Bytes those files held.
  returned: state=reclaimed
  type: int
  sample: 734003200
kept:
  description: Files kept because the bucket lacks them or holds something else.
  returned: state=reclaimed
  type: int
  sample: 2
kept_files:
  description: The first O(report_limit) kept files with the reason.
  returned: state=reclaimed
  type: list
  elements: dict
  sample: [{path: covers/new.jpg, reason: missing in the bucket}]
removed_sample:
  description: The first O(report_limit) files removed (or that would be).
  returned: state=reclaimed
  type: list
  elements: str
scanned:
  description: Local files compared.
  returned: state=reclaimed
  type: int
streamed:
  description: Objects streamed back because their ETag could not tell.
  returned: state=reclaimed
  type: int
restored:
  description: Files brought back (in check mode, that would be).
  returned: state=restored
  type: int
present:
  description: Files of the manifest already in place with their content.
  returned: state=restored
  type: int
restored_sample:
  description: The first O(report_limit) files brought back.
  returned: state=restored
  type: list
  elements: str
conflicts:
  description: Files of the manifest with a different file in their place (kept).
  returned: state=restored
  type: list
  elements: dict
manifest:
  description: The manifest's path.
  returned: always
  type: str
"""

try:
    # only to learn whether it is there: AnsibleAWSModule reports its absence
    import botocore  # noqa: F401  # pylint: disable=unused-import
except ImportError:
    pass

import os

from ansible_collections.bookwyrm.s3.plugins.module_utils._errors import ReclaimError
from ansible_collections.bookwyrm.s3.plugins.module_utils._reclaim import Reclaimer
from ansible_collections.bookwyrm.s3.plugins.module_utils._s3_client import S3_COMPAT_ARGUMENT_SPEC, run_manager

ARGUMENT_SPEC = dict(
    path=dict(type="path", required=True),
    bucket=dict(type="str", required=True),
    prefix=dict(type="str", default="images"),
    manifest=dict(type="path", required=True),
    state=dict(type="str", default="reclaimed", choices=["reclaimed", "restored"]),
    report_limit=dict(type="int", default=100),
)
ARGUMENT_SPEC.update(S3_COMPAT_ARGUMENT_SPEC)


class ReclaimManager(object):
    def __init__(self, module, client):
        self.module = module
        params = module.params
        self.reclaimer = Reclaimer(
            client,
            params["bucket"],
            params["path"],
            params["manifest"],
            prefix=params["prefix"],
            check_mode=module.check_mode,
            report_limit=params["report_limit"],
        )

    @staticmethod
    def diff(listed, total, side):
        """The files that go (``before``) or come back (``after``): a sample, and how many more."""
        text = "".join("%s\n" % path for path in listed)
        if total > len(listed):
            text += "... and %d more\n" % (total - len(listed))
        diff = dict(before_header="local media", after_header="local media afterwards", before="", after="")
        diff[side] = text
        return diff

    def handle_reclaimed(self):
        if not os.path.isdir(self.module.params["path"]):
            raise ReclaimError(message="The media directory %s does not exist." % self.module.params["path"])
        return self.outcome(self.reclaimer.reclaim(), "removed", "before", "kept_files", "kept")

    def handle_restored(self):
        return self.outcome(self.reclaimer.restore(), "restored", "after", "conflicts", "not restored")

    def outcome(self, result, counted, side, left_alone, verb):
        """(changed, result) with the diff of the ``counted`` files and a warning for the first
        few files ``left_alone`` (kept, or not restored), each with its reason."""
        result["diff"] = self.diff(result[counted + "_sample"], result[counted], side)
        for entry in result[left_alone][:5]:
            self.module.warn("%s %s: %s" % (verb, entry["path"], entry["reason"]))
        return result["changed"], result

    def run(self):
        changed, result = getattr(self, "handle_" + self.module.params["state"])()
        result["changed"] = changed
        if not self.module._diff:
            result.pop("diff")
        return result


def main():
    run_manager(ReclaimManager, ReclaimError, ARGUMENT_SPEC)


if __name__ == "__main__":
    main()
