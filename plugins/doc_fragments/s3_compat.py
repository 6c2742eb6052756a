# -*- coding: utf-8 -*-
# Copyright: (c) 2026, bookwyrm.s3 contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    # Options every module of this collection adds for S3-compatible providers.
    DOCUMENTATION = r"""
options:
  addressing_style:
    description:
      - How requests address the bucket.
      - C(path) puts the bucket in the URL path (MinIO, SeaweedFS, Ceph RGW without wildcard DNS).
      - C(virtual) puts it in the host name (AWS, Scaleway, DigitalOcean Spaces, Linode, Wasabi).
      - C(auto) lets botocore choose (virtual-host style when the bucket name allows it).
    type: str
    choices: [auto, path, virtual]
    default: auto
notes:
  - Requests are signed with botocore's checksum settings at C(when_required), so providers that
    reject the CRC checksum headers of botocore 1.36 and later (Backblaze B2, some Ceph and MinIO
    releases) keep working.
  - Transient errors and throttling are retried with jittered exponential backoff.
"""
