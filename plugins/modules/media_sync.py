#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, bookwyrm.s3 contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: media_sync
short_description: Copy a BookWyrm media tree to an S3 bucket prefix, or back, or from another bucket
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
  - With O(source), copies the objects of another bucket's prefix (an instance's current bucket,
    when it moves to a new bucket or provider) that O(bucket) lacks, instead of a local tree;
    server-side (C(CopyObject)) when one endpoint and one set of credentials reach both buckets,
    streamed object by object otherwise (never through a local copy). The source is only read.
author:
  - bookwyrm.s3 contributors (@bookwyrm-s3)
options:
  path:
    description:
      - The local directory, for example the media volume's C(_data) directory on the Docker host.
      - Symbolic links are followed only to files inside this directory.
      - Required unless O(source) is given; the two exclude each other.
    type: path
  source:
    description:
      - Another bucket to copy from, instead of O(path). Its objects under O(source.prefix) are
        copied to O(bucket) under O(prefix) when missing there; an object already there with the
        same content is left alone, one with other content is a conflict (see O(overwrite)).
      - Nothing in the source is changed or deleted.
      - O(direction) must be V(push) (the default).
    type: dict
    suboptions:
      bucket:
        description: The source bucket.
        type: str
        required: true
      prefix:
        description: The source's key prefix; default the same as O(prefix).
        type: str
      endpoint_url:
        description: The source's endpoint; default O(endpoint_url).
        type: str
      region:
        description: The source's region; default O(region).
        type: str
      access_key:
        description: The source's access key; default O(access_key) (the same account).
        type: str
      secret_key:
        description: The source's secret key; default O(secret_key).
        type: str
      session_token:
        description: The source's session token, with temporary credentials.
        type: str
      addressing_style:
        description: How requests address the source bucket (see O(addressing_style)); default the same.
        type: str
        choices: [auto, path, virtual]
      method:
        description:
          - V(server-side) copies with C(CopyObject) through the target's client; the target's
            credentials must be able to read the source.
          - V(streamed) reads each object from the source and writes it to the target as it arrives.
          - V(auto) is V(server-side) when the source's endpoint and access key are the target's,
            V(streamed) otherwise.
        type: str
        choices: [auto, server-side, streamed]
        default: auto
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
      - V(0) (the default) sizes it from the round trip of the first listing requests, from 16
        for a server on the same network up to 128 for one far away.
    type: int
    default: 0
  engine:
    description:
      - How files are sent and fetched.
      - V(auto) picks the default engine (V(signed_put)).
      - V(signed_put) sends each small file as one PUT signed with botocore's SigV4 signer,
        without the client's per-call pipeline (about half the CPU per file of V(boto3), which
        counts when many transfers run at once over a slow link); any answer other than success
        is retried through C(put_object). Big files and downloads go as with V(boto3).
      - V(boto3) uses C(put_object) for small files, boto3's transfer manager for big ones and
        for downloads.
      - V(crt) uses s3transfer's CRT transfer manager (native code); it needs C(awscrt) on the
        managed host (C(pip install 'boto3[crt]')).
      - Every engine uses boto3's and botocore's public API only. See the collection's
        C(docs/benchmarks.md) for what each costs.
    type: str
    choices: [auto, signed_put, boto3, crt]
    default: auto
  processes:
    description:
      - How many worker processes share the transfers (each runs O(workers) / O(processes)
        threads with its own connection pool). One Python process tops out at a few hundred
        small uploads a second, bound by request signing and the interpreter lock.
      - V(0) picks the number of CPU cores (at most 8). V(1) runs every transfer in the module's
        own process.
    type: int
    default: 0
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
extends_documentation_fragment:
  - bookwyrm.s3.attributes
  - bookwyrm.s3.s3_connection
attributes:
  check_mode:
    details: Lists and compares, then reports what would move.
  diff_mode:
    details: The diff lists a sample of the keys that would move.
  platform:
    platforms: posix
  idempotent:
    details:
      - The second run finds nothing missing and changes nothing.
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

- name: Move to another bucket - what only the current bucket holds (covers written since the cutover)
  bookwyrm.s3.media_sync:
    bucket: bookwyrm-media-new
    source:
      bucket: bookwyrm-media
      endpoint_url: https://s3.fr-par.scw.cloud
      access_key: "{{ vault_old_access_key }}"
      secret_key: "{{ vault_old_secret_key }}"
    acl: public-read
    endpoint_url: https://s3.nl-ams.scw.cloud
    region: nl-ams

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
      description: Files looked at (local files when pushing, objects when pulling, source objects when copying).
      type: int
      sample: 10234
    uploaded:
      description: Objects uploaded (or copied from O(source)).
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
source:
  description: The bucket and prefix copied from, and the method used (V(server-side) or V(streamed)).
  returned: when O(source) is given
  type: dict
  sample: {"bucket": "bookwyrm-media", "prefix": "images", "method": "server-side"}
skipped_symlinks:
  description: Symbolic links not followed (they point outside O(path), to a directory, or nowhere).
  returned: always
  type: list
  elements: str
"""

from ansible_collections.amazon.aws.plugins.module_utils.botocore import get_aws_connection_info
from ansible_collections.amazon.aws.plugins.module_utils.exceptions import AnsibleAWSError
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.bookwyrm.s3.plugins.module_utils._media_copy import CopySource, resolve_copy_method
from ansible_collections.bookwyrm.s3.plugins.module_utils._media_errors import MediaSyncSourceError
from ansible_collections.bookwyrm.s3.plugins.module_utils._media_pools import limit_malloc_arenas
from ansible_collections.bookwyrm.s3.plugins.module_utils._media_remote import listing_session
from ansible_collections.bookwyrm.s3.plugins.module_utils._media_sync import (
    MB,
    SAMPLE_SIZE,
    MediaSync,
    validate_options,
)
from ansible_collections.bookwyrm.s3.plugins.module_utils._media_transfer import (
    make_crt_manager,
    make_signed_put,
    resolve_engine,
)
from ansible_collections.bookwyrm.s3.plugins.module_utils._s3_client import (
    S3_COMPAT_ARGUMENT_SPEC,
    explain,
    s3_config,
)

try:
    import boto3
    import botocore
    import botocore.config
    import botocore.session
except ImportError:
    pass  # handled by AnsibleAWSModule

import os

SOURCE_SPEC = dict(
    bucket=dict(type="str", required=True),
    prefix=dict(type="str"),
    endpoint_url=dict(type="str"),
    region=dict(type="str"),
    access_key=dict(type="str", no_log=True),
    secret_key=dict(type="str", no_log=True),
    session_token=dict(type="str", no_log=True),
    addressing_style=dict(type="str", choices=["auto", "path", "virtual"]),
    method=dict(type="str", default="auto", choices=["auto", "server-side", "streamed"]),
)

ARGUMENT_SPEC = dict(
    path=dict(type="path"),
    source=dict(type="dict", options=SOURCE_SPEC),
    bucket=dict(type="str", required=True),
    prefix=dict(type="str", default="images"),
    direction=dict(type="str", default="push", choices=["push", "pull"]),
    acl=dict(type="str", default=""),
    compare=dict(type="str", default="size", choices=["size", "checksum"]),
    overwrite=dict(type="bool", default=False),
    workers=dict(type="int", default=0),
    engine=dict(type="str", default="auto", choices=["auto", "signed_put", "boto3", "crt"]),
    processes=dict(type="int", default=0),
    multipart_threshold_mb=dict(type="int", default=64),
    multipart_chunksize_mb=dict(type="int", default=16),
    cache_control=dict(type="str", default="max-age=86400"),
    return_files=dict(type="bool", default=False),
    progress_file=dict(type="path"),
    progress_interval=dict(type="int", default=10),
    **S3_COMPAT_ARGUMENT_SPEC,
)


_DATA_LOADER = []


def botocore_session():
    """A botocore session whose data loader (the parsed S3 model, endpoints) is the module's one:
    read once in the module's process, found loaded by the worker processes it forks."""
    session = botocore.session.get_session()
    if not _DATA_LOADER:
        _DATA_LOADER.append(session.get_component("data_loader"))
    session.register_component("data_loader", _DATA_LOADER[0])
    return session


def make_client(module, connections=16):
    config = s3_config(module.params["addressing_style"], max_pool_connections=connections + 4)
    try:
        config = config.merge(botocore.config.Config(tcp_keepalive=True))
    except (AttributeError, TypeError):  # botocore without tcp_keepalive
        pass
    # the user's aws_config as AnsibleAWSModule.client takes it, but from the shared data loader:
    # each forked worker used to parse the S3 model again (13 MB each)
    session, region, endpoint, params = target_session(module, botocore_session())
    if params.get("aws_config"):
        config = config.merge(params["aws_config"])
    return session.client(
        "s3", endpoint_url=endpoint or None, region_name=region, verify=params.get("verify", True), config=config
    )


def target_session(module, botocore_session=None):
    """A boto3 session with the target's credentials (and the connection parameters)."""
    region, endpoint, params = get_aws_connection_info(module)
    keys = ("aws_access_key_id", "aws_secret_access_key", "aws_session_token", "profile_name")
    credentials = dict((k, params.get(k)) for k in keys if params.get(k))
    return boto3.session.Session(botocore_session=botocore_session, **credentials), region, endpoint, params


def make_list_client(module, connections=16):
    """The client that lists the target: its pages read by ListingParser (timestamps stay text)."""
    session, region, endpoint, params = target_session(module, listing_session(botocore_session()))
    config = s3_config(module.params["addressing_style"], max_pool_connections=connections + 4)
    return session.client(
        "s3", endpoint_url=endpoint or None, region_name=region, verify=params.get("verify", True), config=config
    )


def crt_factory(module, client):
    def factory():
        session, _region, _endpoint, params = target_session(module)
        return make_crt_manager(session, client, module.params["workers"] or 16, verify=params.get("verify"))

    return factory


def signed_put_factory(module):
    """engine=signed_put's sender for a client: the target session's credentials, its TLS setting."""

    def factory(client, bucket):
        session, _region, _endpoint, params = target_session(module, botocore_session())
        return make_signed_put(client, bucket, session.get_credentials(), verify=params.get("verify", True))

    return factory


def make_source(module, connections):
    """The CopySource of O(source): its own client, the target's settings where it gives none."""
    source = module.params["source"]
    region, endpoint, params = get_aws_connection_info(module)
    access_key = source["access_key"] or params.get("aws_access_key_id")
    endpoint_url = source["endpoint_url"] or endpoint
    method = resolve_copy_method(source["method"], endpoint_url, endpoint, access_key, params.get("aws_access_key_id"))
    own_token = None if source["access_key"] else params.get("aws_session_token")
    credentials = dict(
        aws_access_key_id=access_key,
        aws_secret_access_key=source["secret_key"] or params.get("aws_secret_access_key"),
        aws_session_token=source["session_token"] or own_token,
    )
    if not access_key:  # the default chain (profile, instance role), as for the target
        credentials = dict(profile_name=params.get("profile_name")) if params.get("profile_name") else {}
    addressing = source["addressing_style"] or module.params["addressing_style"]
    config = s3_config(addressing, max_pool_connections=connections + 4)
    client = boto3.session.Session(**credentials).client(
        "s3",
        endpoint_url=endpoint_url or None,
        region_name=source["region"] or region,
        verify=params.get("verify", True),
        config=config,
    )
    prefix = module.params["prefix"] if source["prefix"] is None else source["prefix"]
    return CopySource(client, source["bucket"], prefix, method), endpoint_url


def processes(params):
    wanted = params["processes"]
    if wanted == 0:
        wanted = min(os.cpu_count() or 1, 8)
    return max(1, wanted)


def report(module, result):
    """exit_json, or fail_json naming what failed when files failed to transfer."""
    params = module.params
    stats = result["stats"]
    moved = stats["uploaded"] + stats["downloaded"]
    result["changed"] = moved > 0
    if module._diff and moved:
        names = result.get("transferred_files") or result.get("sample") or []
        lines = ["+ %s" % name for name in names[:SAMPLE_SIZE]]
        if moved > len(lines):
            lines.append("... and %d more" % (moved - len(lines)))
        where = "s3://%s/%s" % (params["bucket"], params["prefix"]) if params["direction"] == "push" else params["path"]
        result["diff"] = dict(before_header=where, after_header=where, before="", after="\n".join(lines) + "\n")
    if stats["errors"]:
        done = (
            "uploaded %d" % stats["uploaded"]
            if params["direction"] == "push"
            else "downloaded %d" % stats["downloaded"]
        )
        reason = result["abort_reason"] or result["error_files"][0]["reason"]
        module.fail_json(
            msg="%d of %d files failed to transfer (%s before stopping%s). Last error: %s. Nothing was deleted "
            "and every finished object is whole: run the same task again once the cause is fixed; "
            "it moves only what is missing."
            % (
                stats["errors"],
                stats["scanned"],
                done,
                ", gave up after repeated errors" if result["aborted"] else "",
                reason,
            ),
            **result,
        )
    module.exit_json(**result)


def run(module):
    params = module.params
    validate_options(params)
    limit_malloc_arenas()  # before the clients' and the listing's threads
    client = make_client(module, params["workers"] or 16)
    source = None
    if params["source"]:
        source, module.source_endpoint = make_source(module, params["workers"] or 16)
    sync = MediaSync(
        client=client,
        client_factory=lambda connections=None: make_client(module, connections or params["workers"] or 16),
        list_client=make_list_client(module),
        crt_factory=crt_factory(module, client),
        signed_put_factory=signed_put_factory(module),
        engine=resolve_engine(params["engine"]),
        processes=processes(params),
        bucket=params["bucket"],
        prefix=params["prefix"],
        root=params["path"],
        direction="copy" if source else params["direction"],
        source=source,
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
        check_mode=module.check_mode,
    )
    if params["direction"] == "pull" and not module.check_mode:
        os.makedirs(params["path"], exist_ok=True)
    return sync.run()


def main():
    module = AnsibleAWSModule(
        argument_spec=ARGUMENT_SPEC,
        supports_check_mode=True,
        required_one_of=[("path", "source")],
        mutually_exclusive=[("path", "source")],
    )
    module.source_endpoint = None
    try:
        result = run(module)
    except AnsibleAWSError as exc:  # the typed errors of module_utils, reported once here
        if exc.exception is not None:
            # a source's error is about the source's endpoint and credentials
            source = isinstance(exc, MediaSyncSourceError)
            endpoint = module.source_endpoint if source else module.params.get("endpoint_url")
            exc.message = explain(exc.exception, exc.message, endpoint)
            if source:
                exc.message += " (the source bucket's: source.endpoint_url, source.access_key, source.secret_key)"
        module.fail_json_aws_error(exc)
    report(module, result)


if __name__ == "__main__":
    main()
