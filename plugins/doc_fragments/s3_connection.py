# -*- coding: utf-8 -*-
# Copyright: (c) 2026, bookwyrm.s3 contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.amazon.aws.plugins.doc_fragments.boto3 import ModuleDocFragment as Boto3Fragment
from ansible_collections.amazon.aws.plugins.doc_fragments.common import ModuleDocFragment as CommonFragment
from ansible_collections.amazon.aws.plugins.doc_fragments.region import ModuleDocFragment as RegionFragment
from ansible_collections.bookwyrm.s3.plugins.plugin_utils._doc_fragments import composed


class ModuleDocFragment(object):
    # What every S3 module of this collection takes to reach a bucket: amazon.aws's credential,
    # endpoint, region and boto3 fragments, and the options of ours for S3-compatible providers.
    S3_COMPATIBLE = r"""
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

    def __init__(self):
        # Composed when ansible-doc loads the fragment (as amazon.aws's boto3 fragment is made):
        # ansible-test's yamllint reads a class-level DOCUMENTATION as a string.
        self.DOCUMENTATION = composed(
            CommonFragment.MODULES,
            RegionFragment.MODULES,
            Boto3Fragment().MODULES,
            self.S3_COMPATIBLE,
        )
