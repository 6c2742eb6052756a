# -*- coding: utf-8 -*-
# Copyright: (c) 2026, bookwyrm.s3 contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""Typed errors of the media sync engine (model: amazon.aws ``module_utils/s3.py``).

module_utils raise them; the module's ``main()`` reports them once with
``fail_json_aws_error`` (which also formats a wrapped botocore error). Files that fail one by
one are not exceptions: they are counted and listed in the result.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.bookwyrm.s3.plugins.module_utils._errors import AnsibleAWSError


class MediaSyncError(AnsibleAWSError):
    """Anything that stops a media sync before or outside the per-file transfers."""


class MediaSyncOptionError(MediaSyncError):
    """An option value the engine cannot work with (reported without a traceback)."""


class MediaSyncPathError(MediaSyncError):
    """The local directory is missing or unusable."""


class MediaSyncListError(MediaSyncError):
    """Listing the bucket failed (``exception`` holds botocore's error)."""


class MediaSyncSourceError(MediaSyncListError):
    """Listing the source bucket of a copy failed (its endpoint and credentials, not the target's)."""


class MediaSyncEngineError(MediaSyncError):
    """The transfer engine asked for cannot run here (e.g. ``crt`` without awscrt)."""
