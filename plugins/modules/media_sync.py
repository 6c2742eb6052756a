#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, bookwyrm.s3 contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: media_sync
short_description: Copy a BookWyrm media tree to an S3 bucket prefix, or back
version_added: 0.1.0
description:
  - Uploads the files below O(path) that are missing in O(bucket) under O(prefix) (O(direction=push)),
    or downloads the objects missing locally (O(direction=pull), for a rollback).
  - Made for a BookWyrm media volume with tens of thousands of covers and avatars. Files are
    compared by size, and by MD5/ETag when O(compare=checksum); unchanged files are not read again.
  - Never deletes anything. An object (or, pulling, a local file) that exists with other content
    is a conflict; it is reported and left alone unless O(overwrite=true).
  - Every object appears whole or not at all, so a run that is killed can simply be run again;
    it moves only what is still missing.
author:
  - bookwyrm.s3 contributors (@bookwyrm-s3)
options:
  path:
    description:
      - The local directory, for example the media volume's C(_data) directory on the Docker host.
      - Symbolic links are followed only to files inside this directory.
    type: path
    required: true
  bucket:
    description: The bucket.
    type: str
    required: true
  prefix:
    description:
      - The key prefix the tree maps to. BookWyrm keeps media under C(images).
    type: str
    default: images
  direction:
    description:
      - V(push) uploads local files to the bucket; V(pull) downloads objects into O(path).
    type: str
    choices: [push, pull]
    default: push
  acl:
    description:
      - Canned ACL given to uploaded objects, as BookWyrm's C(AWS_DEFAULT_ACL) (usually V(public-read)).
      - An empty string sends no ACL, for providers that reject ACLs (Backblaze B2, AWS buckets
        with ACLs disabled).
    type: str
    default: ""
  compare:
    description:
      - V(size) treats an object of the same size as the same file (BookWyrm never rewrites a
        media file in place) and reads no unchanged file.
      - V(checksum) also compares the MD5 (or multipart ETag) of files whose size matches.
    type: str
    choices: [size, checksum]
    default: size
  overwrite:
    description:
      - Replace objects (or local files) whose content differs. Off by default; conflicts are
        reported in RV(stats.conflicts) and RV(conflict_files).
    type: bool
    default: false
  workers:
    description:
      - How many transfers run at once, in all worker processes together.
    type: int
    default: 16
  processes:
    description:
      - How many worker processes share the transfers (each runs O(workers) / O(processes)
        threads with its own connection pool). One Python process tops out at a few hundred
        small uploads a second, bound by request signing and the interpreter lock.
      - V(0) picks the number of CPU cores (at most 8). V(1) runs every transfer in the module's
        own process.
    type: int
    default: 0
    version_added: 0.2.0
  multipart_threshold_mb:
    description: Files of this size and larger are uploaded in parts.
    type: int
    default: 64
  multipart_chunksize_mb:
    description: The part size of multipart uploads.
    type: int
    default: 16
  cache_control:
    description: The C(Cache-Control) header of uploaded objects (BookWyrm sets C(max-age=86400)).
    type: str
    default: max-age=86400
  return_files:
    description:
      - Return the full list of transferred keys in RV(transferred_files). Off by default so that
        a sync of 100,000 files keeps a small result; a sample is always returned.
    type: bool
    default: false
  progress_file:
    description:
      - Write a JSON progress record (files and bytes done, rate, ETA) to this file every few
        seconds while the sync runs.
      - The action plugin of this module uses it to show progress lines while a long sync runs;
        see O(progress_interval).
    type: path
  progress_interval:
    description:
      - Seconds between progress lines shown while the sync runs (and between writes of
        O(progress_file)). V(0) shows none; the module then runs like any other.
      - Progress is shown by the action plugin, which runs the module asynchronously and
        reads its progress file; it needs no other setting and works over any connection.
    type: int
    default: 10
    version_added: 0.2.0
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
  - bookwyrm.s3.s3_compat
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: Lists and compares, then reports what would move.
  diff_mode:
    support: full
    details: The diff lists a sample of the keys that would move.
  platform:
    platforms: posix
  idempotent:
    description:
      - When run twice in a row, the second run finds nothing missing and changes nothing.
    support: full
seealso:
  - module: community.aws.s3_sync
    description: A general sync; reads every file, serial, no check mode.
"""

EXAMPLES = r"""
- name: Copy the media volume to the bucket
  bookwyrm.s3.media_sync:
    path: /var/lib/docker/volumes/bookwyrm_media_volume/_data
    bucket: bookwyrm-media
    prefix: images
    acl: public-read
    endpoint_url: https://s3.fr-par.scw.cloud
    region: fr-par
    access_key: "{{ vault_s3_access_key }}"
    secret_key: "{{ vault_s3_secret_key }}"

- name: What would a sync move? (no change made)
  bookwyrm.s3.media_sync:
    path: /var/lib/docker/volumes/bookwyrm_media_volume/_data
    bucket: bookwyrm-media
  check_mode: true
  register: planned

- name: Bring media written after the cutover back down for a rollback
  bookwyrm.s3.media_sync:
    path: /var/lib/docker/volumes/bookwyrm_media_volume/_data
    bucket: bookwyrm-media
    direction: pull
"""

RETURN = r"""
stats:
  description: What the sync did (or, in check mode, would do).
  returned: always
  type: dict
  contains:
    scanned:
      description: Files looked at (local files when pushing, objects when pulling).
      type: int
      sample: 10234
    uploaded:
      description: Objects uploaded.
      type: int
      sample: 120
    downloaded:
      description: Files downloaded.
      type: int
      sample: 0
    skipped:
      description: Files already present with the same content.
      type: int
      sample: 10114
    conflicts:
      description: Files present on both sides with different content, left alone.
      type: int
      sample: 0
    errors:
      description: Files that failed to transfer.
      type: int
      sample: 0
    bytes:
      description: Bytes transferred.
      type: int
      sample: 5123456
    bytes_total:
      description: Bytes planned for transfer.
      type: int
      sample: 5123456
    seconds:
      description: Wall time of the sync.
      type: float
      sample: 4.2
sample:
  description: Up to ten keys transferred (or that would be).
  returned: unless O(return_files=true)
  type: list
  elements: str
transferred_files:
  description: Every key transferred.
  returned: when O(return_files=true)
  type: list
  elements: str
conflict_files:
  description: Up to ten conflicting keys (all with O(return_files=true)) and why.
  returned: always
  type: list
  elements: dict
error_files:
  description: Up to a hundred keys that failed and why.
  returned: always
  type: list
  elements: dict
skipped_symlinks:
  description: Symbolic links not followed (they point outside O(path), to a directory, or nowhere).
  returned: always
  type: list
  elements: str
"""

from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.bookwyrm.s3.plugins.module_utils._media_sync import MB, SAMPLE_SIZE, MediaSync
from ansible_collections.bookwyrm.s3.plugins.module_utils._s3_client import (
    S3_COMPAT_ARGUMENT_SPEC,
    explain,
    s3_config,
)

try:
    import botocore
    import botocore.config
except ImportError:
    pass  # handled by AnsibleAWSModule

import os

ARGUMENT_SPEC = dict(
    path=dict(type="path", required=True),
    bucket=dict(type="str", required=True),
    prefix=dict(type="str", default="images"),
    direction=dict(type="str", default="push", choices=["push", "pull"]),
    acl=dict(type="str", default=""),
    compare=dict(type="str", default="size", choices=["size", "checksum"]),
    overwrite=dict(type="bool", default=False),
    workers=dict(type="int", default=16),
    processes=dict(type="int", default=0),
    multipart_threshold_mb=dict(type="int", default=64),
    multipart_chunksize_mb=dict(type="int", default=16),
    cache_control=dict(type="str", default="max-age=86400"),
    return_files=dict(type="bool", default=False),
    progress_file=dict(type="path"),
    progress_interval=dict(type="int", default=10),
    **S3_COMPAT_ARGUMENT_SPEC,
)

CANNED_ACLS = (
    "",
    "private",
    "public-read",
    "public-read-write",
    "authenticated-read",
    "aws-exec-read",
    "bucket-owner-read",
    "bucket-owner-full-control",
)


class MediaSyncManager(object):
    def __init__(self, module):
        self.module = module
        self.params = module.params

    def validate(self):
        params = self.params
        if not os.path.isdir(params["path"]):
            if params["direction"] == "push":
                self.module.fail_json(
                    msg="path %s is not a directory. Give the media directory, e.g. the media "
                    "volume's Mountpoint from 'docker volume inspect'." % params["path"]
                )
            if not os.path.isdir(os.path.dirname(params["path"].rstrip("/")) or "/"):
                self.module.fail_json(msg="path %s does not exist and neither does its parent." % params["path"])
        if not 1 <= params["workers"] <= 256:
            self.module.fail_json(msg="workers must be between 1 and 256, got %d." % params["workers"])
        if not 0 <= params["processes"] <= 64:
            self.module.fail_json(msg="processes must be between 0 (auto) and 64, got %d." % params["processes"])
        if params["progress_interval"] < 0:
            self.module.fail_json(msg="progress_interval must be 0 (off) or more seconds.")
        if params["acl"] not in CANNED_ACLS:
            self.module.fail_json(
                msg="acl %r is not a canned ACL; use one of: %s (empty for none)."
                % (params["acl"], ", ".join(a for a in CANNED_ACLS if a))
            )
        if params["multipart_chunksize_mb"] < 5:
            self.module.fail_json(msg="multipart_chunksize_mb must be at least 5 (S3's smallest part size).")
        if params["multipart_threshold_mb"] < 5:
            self.module.fail_json(msg="multipart_threshold_mb must be at least 5.")

    def processes(self):
        wanted = self.params["processes"]
        if wanted == 0:
            wanted = min(os.cpu_count() or 1, 8)
        return max(1, min(wanted, self.params["workers"]))

    def client(self, connections=None):
        config = s3_config(
            self.params["addressing_style"], max_pool_connections=(connections or self.params["workers"]) + 4
        )
        try:
            config = config.merge(botocore.config.Config(tcp_keepalive=True))
        except (AttributeError, TypeError):  # botocore without tcp_keepalive
            pass
        return self.module.client("s3", config=config)

    def run(self):
        self.validate()
        params = self.params
        processes = self.processes()
        per_process = -(-params["workers"] // processes)
        sync = MediaSync(
            client=self.client(),
            client_factory=lambda: self.client(per_process),
            processes=processes,
            fast_put=True,
            bucket=params["bucket"],
            prefix=params["prefix"],
            root=params["path"],
            direction=params["direction"],
            acl=params["acl"],
            compare=params["compare"],
            overwrite=params["overwrite"],
            workers=params["workers"],
            multipart_threshold=params["multipart_threshold_mb"] * MB,
            multipart_chunksize=params["multipart_chunksize_mb"] * MB,
            cache_control=params["cache_control"],
            keep_files=params["return_files"],
            progress_path=params["progress_file"],
            progress_interval=params["progress_interval"] or 10,
            check_mode=self.module.check_mode,
        )
        if params["direction"] == "pull" and not self.module.check_mode:
            os.makedirs(params["path"], exist_ok=True)
        try:
            result = sync.run()
        except is_boto3_error_code(["NoSuchBucket"]) as exc:
            self.module.fail_json(msg=explain(exc, "Listing s3://%s" % params["bucket"], params.get("endpoint_url")))
        except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as exc:  # pylint: disable=duplicate-except
            self.module.fail_json_aws(
                exc,
                msg=explain(
                    exc, "Listing s3://%s/%s" % (params["bucket"], params["prefix"]), params.get("endpoint_url")
                ),
            )
        stats = result["stats"]
        moved = stats["uploaded"] + stats["downloaded"]
        result["changed"] = moved > 0
        if self.module._diff and moved:
            names = result.get("transferred_files") or result.get("sample") or []
            lines = ["+ %s" % name for name in names[:SAMPLE_SIZE]]
            if moved > len(lines):
                lines.append("... and %d more" % (moved - len(lines)))
            where = (
                "s3://%s/%s" % (params["bucket"], params["prefix"]) if params["direction"] == "push" else params["path"]
            )
            result["diff"] = dict(before_header=where, after_header=where, before="", after="\n".join(lines) + "\n")
        if stats["errors"]:
            done = (
                "uploaded %d" % stats["uploaded"]
                if params["direction"] == "push"
                else "downloaded %d" % stats["downloaded"]
            )
            reason = result["abort_reason"] or result["error_files"][0]["reason"]
            msg = (
                "%d of %d files failed to transfer (%s before stopping%s). Last error: %s. Nothing was deleted "
                "and every finished object is whole: run the same task again once the cause is fixed; "
                "it moves only what is missing."
                % (
                    stats["errors"],
                    stats["scanned"],
                    done,
                    ", gave up after repeated errors" if result["aborted"] else "",
                    reason,
                )
            )
            self.module.fail_json(msg=msg, **result)
        self.module.exit_json(**result)


def main():
    module = AnsibleAWSModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    MediaSyncManager(module).run()


if __name__ == "__main__":
    main()
