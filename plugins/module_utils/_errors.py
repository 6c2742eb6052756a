# -*- coding: utf-8 -*-
# Copyright: (c) 2026, bookwyrm.s3 contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""The collection's typed errors (model: amazon.aws ``module_utils/exceptions.py``).

module_utils raise them and never call ``fail_json``; a module's ``main()`` reports them once,
in a ``with reported(module, ErrorType):`` block (or with ``fail(module, error)``).
``message`` says what to do; ``exception`` keeps botocore's error (its code and request id
reach the result); keyword fields go into the result too.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from contextlib import contextmanager

try:
    from ansible_collections.amazon.aws.plugins.module_utils.exceptions import AnsibleAWSError
except ImportError:  # pragma: no cover - amazon.aws is a dependency of this collection

    class AnsibleAWSError(Exception):  # type: ignore
        def __init__(self, message=None, exception=None, **kwargs):
            super(AnsibleAWSError, self).__init__(message or exception)
            self.message = message
            self.exception = exception
            self.kwargs = kwargs or {}


class BucketError(AnsibleAWSError):
    """The bucket cannot be created, checked or configured as asked."""


class CorsError(AnsibleAWSError):
    """The bucket's CORS rules cannot be read, set or proven."""


class ReclaimError(AnsibleAWSError):
    """Local media cannot be reclaimed or brought back as asked (the manifest, the bucket, the disk)."""


def fail(module, error):
    """Report a typed error once: botocore's details when it wraps one, the extra fields."""
    extra = dict(getattr(error, "kwargs", None) or {})
    if error.exception is not None:
        module.fail_json_aws(error.exception, msg=error.message, **extra)
    module.fail_json(msg=error.message, **extra)


@contextmanager
def reported(module, *errors):
    """Run a module's work; report the typed errors it raises (``errors``) once, then fail."""
    try:
        yield
    except errors as error:
        fail(module, error)
