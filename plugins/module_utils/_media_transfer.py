# -*- coding: utf-8 -*-
# Copyright: (c) 2026, bookwyrm.s3 contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""Moving one file: upload (push) or download (pull), through the engine chosen.

Engines (option ``engine``):
- ``boto3``: ``put_object`` of small bodies read whole (one round trip, no
  ``Expect: 100-continue``), boto3's transfer manager for big files and for downloads.
- ``crt``: s3transfer's CRT transfer manager (``awscrt``, native code: signing, HTTP and
  connection management outside the interpreter lock). Needs ``awscrt`` on the host.
- ``botocore_internals``: ``boto3`` plus FastPut, a PUT signed and sent through botocore's
  PRIVATE attributes. Kept behind this switch only; ``check_botocore_internals()`` and its unit test fail loudly when a
  botocore release moves what it uses.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import tempfile
import threading

try:
    from urllib.parse import quote, urlsplit
except ImportError:  # pragma: no cover - Python 2 is not supported, kept for sanity tests
    from urllib import quote  # type: ignore

    from urlparse import urlsplit  # type: ignore

from ansible_collections.bookwyrm.s3.plugins.module_utils._media_errors import MediaSyncEngineError
from ansible_collections.bookwyrm.s3.plugins.module_utils._media_tree import content_type, join_key

MB = 1024 * 1024
SMALL_BODY = MB  # files below this are read whole and sent in one go
CACHE_CONTROL = "max-age=86400"  # what BookWyrm's storages set on every object
ENGINES = ("boto3", "crt", "botocore_internals")
# engine=auto: the first of these the host can run. The order is what `make bench` measured
# (docs/benchmarks.md); botocore_internals is never picked (private attributes).
AUTO_ENGINES = ("boto3",)
HEADER_NAMES = {"ContentType": "Content-Type", "CacheControl": "Cache-Control", "ACL": "x-amz-acl"}


def crt_available():
    try:
        import awscrt.s3  # noqa: F401 pylint: disable=unused-import
        import s3transfer.crt  # noqa: F401 pylint: disable=unused-import
    except ImportError:
        return False
    return True


def resolve_engine(engine):
    """``auto`` becomes the default engine this host can run."""
    if engine in (None, "", "auto"):
        return next((name for name in AUTO_ENGINES if name != "crt" or crt_available()), "boto3")
    if engine not in ENGINES:
        raise MediaSyncEngineError(message="engine must be one of auto, %s; got %r." % (", ".join(ENGINES), engine))
    if engine == "crt" and not crt_available():
        raise MediaSyncEngineError(
            message="engine=crt needs awscrt on the managed host (pip install 'boto3[crt]'); use engine=auto."
        )
    return engine


def transfer_config(multipart_threshold, multipart_chunksize):
    """boto3's transfer manager settings for the big files (and objects) moved in parts."""
    from boto3.s3.transfer import TransferConfig  # only big files need the transfer manager

    return TransferConfig(
        multipart_threshold=multipart_threshold,
        multipart_chunksize=multipart_chunksize,
        max_concurrency=4,
        use_threads=True,
    )


class Mover(object):
    """What moving into ``bucket/prefix`` needs, whatever the source: the target, the headers
    and the transfer manager's settings for what goes in parts (Transfer, ObjectCopier)."""

    def __init__(
        self, client, bucket, prefix, acl=None, cache_control=CACHE_CONTROL, multipart_threshold=64 * MB, **parts
    ):
        self.client = client
        self.bucket = bucket
        self.prefix = prefix
        self.acl = acl or None
        self.cache_control = cache_control
        self.multipart_threshold = multipart_threshold
        self.multipart_chunksize = parts.get("multipart_chunksize", 16 * MB)
        self._transfer_config = None

    def _config(self):
        if self._transfer_config is None:
            self._transfer_config = transfer_config(self.multipart_threshold, self.multipart_chunksize)
        return self._transfer_config

    def close(self):
        pass


class Transfer(Mover):
    """Moves single files for one process (a client must not cross a fork)."""

    def __init__(self, client, bucket, prefix, engine="boto3", crt_factory=None, **options):
        super(Transfer, self).__init__(client, bucket, prefix, **options)
        self.engine = engine
        self._fast = None if engine == "botocore_internals" else False
        self._lock = threading.Lock()
        self._crt_factory = crt_factory
        self._crt = None

    def extra_args(self, name):
        args = {"ContentType": content_type(name)}
        if self.cache_control:
            args["CacheControl"] = self.cache_control
        if self.acl:
            args["ACL"] = self.acl
        return args

    def _crt_manager(self):
        if self._crt is None:
            with self._lock:
                if self._crt is None:
                    self._crt = self._crt_factory()
        return self._crt

    def upload(self, local):
        key = join_key(self.prefix, local.relpath)
        extra = self.extra_args(local.relpath)
        if self.engine == "crt":
            self._crt_manager().upload(local.path, self.bucket, key, extra_args=extra).result()
        elif local.size >= self.multipart_threshold:
            self.client.upload_file(local.path, self.bucket, key, ExtraArgs=extra, Config=self._config())
        elif local.size < SMALL_BODY:
            # Read whole: no "Expect: 100-continue" round trip, and one signing pass.
            with open(local.path, "rb") as handle:
                body = handle.read()
            fast = self._fast_put()
            headers = dict((HEADER_NAMES[name], value) for name, value in extra.items())
            if fast is None or not fast.put(key, body, headers):
                self.client.put_object(Bucket=self.bucket, Key=key, Body=body, **extra)
        else:
            with open(local.path, "rb") as body:
                self.client.put_object(Bucket=self.bucket, Key=key, Body=body, **extra)
        return key

    def download(self, local):
        """Written to a temporary name beside the file, then renamed: never half a file."""
        key = join_key(self.prefix, local.relpath)
        directory = os.path.dirname(local.path)
        os.makedirs(directory, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".bookwyrm-s3-", dir=directory)
        try:
            with os.fdopen(fd, "wb") as handle:
                if self.engine == "crt":
                    self._crt_manager().download(self.bucket, key, handle).result()
                else:
                    self.client.download_fileobj(self.bucket, key, handle)
            os.chmod(tmp, 0o644)
            os.rename(tmp, local.path)
        except BaseException:
            os.unlink(tmp)
            raise

    def _fast_put(self):
        if self._fast is False:
            return None
        if self._fast is None:
            with self._lock:
                if self._fast is None:
                    self._fast = make_fast_put(self.client, self.bucket) or False
        return self._fast or None

    def close(self):
        if self._crt is not None:
            try:
                self._crt.shutdown()
            except Exception:  # noqa: BLE001, S110 - closing at the end of the run
                pass


def make_crt_manager(session, client, workers, verify=None):
    """s3transfer's CRT transfer manager for the endpoint, region and credentials of ``client``.

    Built from s3transfer's public helpers (as the AWS CLI does), not boto3's process-wide
    singleton, which always talks to AWS's own endpoints over TLS.
    """
    if not crt_available():
        raise MediaSyncEngineError(message="engine=crt needs awscrt (pip install 'boto3[crt]').")
    from awscrt.auth import AwsCredentialsProvider
    from s3transfer.crt import BotocoreCRTRequestSerializer, CRTTransferManager, create_s3_crt_client

    credentials = session.get_credentials()
    if credentials is None:
        raise MediaSyncEngineError(message="engine=crt needs credentials (none were found).")
    frozen = credentials.get_frozen_credentials()
    provider = AwsCredentialsProvider.new_static(frozen.access_key, frozen.secret_key, frozen.token)
    endpoint = client.meta.endpoint_url
    crt_client = create_s3_crt_client(
        region=client.meta.region_name or "us-east-1",
        crt_credentials_provider=provider,
        use_ssl=urlsplit(endpoint).scheme != "http",
        verify=verify,
        target_throughput=None,
        num_threads=None,
    )
    botocore_session = getattr(session, "_session", session)
    serializer = BotocoreCRTRequestSerializer(
        botocore_session,
        {"region_name": client.meta.region_name, "endpoint_url": endpoint, "config": client.meta.config},
    )
    return CRTTransferManager(crt_client, serializer)


# ---- private botocore internals (engine=botocore_internals only) ---------------------------

# What FastPut reads from botocore. The unit test test_botocore_internals_still_there fails
# loudly when a release moves any of them.
BOTOCORE_INTERNALS = (
    ("client", "_request_signer"),
    ("client._request_signer", "_credentials"),
    ("client._request_signer", "signature_version"),
    ("client", "_endpoint"),
    ("client._endpoint", "http_session"),
)


def check_botocore_internals(client):
    """The names in BOTOCORE_INTERNALS that this client no longer has (empty: all there)."""
    missing = []
    for owner, name in BOTOCORE_INTERNALS:
        obj = client
        for part in owner.split(".")[1:]:
            obj = getattr(obj, part, None)
        if obj is None or not hasattr(obj, name):
            missing.append("%s.%s" % (owner, name))
    return missing


class FastPut(object):
    """PutObject of a small body without botocore's per-request pipeline (PRIVATE internals).

    botocore spends about a millisecond of CPU per call (events, parameter validation,
    endpoint rules, parsing). Here the request is built once the way botocore builds it: the
    URL comes from the client itself (``generate_presigned_url``, so endpoint, addressing
    style and key encoding are botocore's), it is signed with botocore's SigV4 signer and the
    client's credentials, and sent through the client's own HTTP session. Any answer other
    than 2xx, or any exception, returns False: the caller then does a normal ``put_object``
    (botocore's retries and errors), and after a few misses in a row the fast path switches
    itself off.
    """

    MARKER = "bookwyrm-s3-fast-put-probe"
    MAX_MISSES = 3

    def __init__(self, client, bucket):
        from botocore.auth import S3SigV4Auth
        from botocore.awsrequest import AWSRequest

        signer = client._request_signer
        if getattr(signer, "signature_version", "s3v4") not in ("s3v4", "v4"):
            raise ValueError("fast path signs with SigV4 only")
        self.credentials = signer._credentials
        if self.credentials is None:
            raise ValueError("no credentials (anonymous client)")
        self.session = client._endpoint.http_session
        self.region = client.meta.region_name or "us-east-1"
        url = client.generate_presigned_url("put_object", Params={"Bucket": bucket, "Key": self.MARKER}, ExpiresIn=60)
        base = url.split("?", 1)[0]
        if not base.endswith("/" + self.MARKER):
            raise ValueError("unexpected URL layout: %s" % base)
        self.base = base[: -len(self.MARKER)]
        self.auth = S3SigV4Auth
        self.request = AWSRequest
        self.misses = 0
        self.enabled = True

    def put(self, key, body, headers):
        if not self.enabled:
            return False
        try:
            request = self.request("PUT", self.base + quote(key, safe="/~"), data=body, headers=dict(headers))
            self.auth(self.credentials.get_frozen_credentials(), "s3", self.region).add_auth(request)
            response = self.session.send(request.prepare())
            ok = 200 <= response.status_code < 300
        except Exception:  # noqa: BLE001 - the caller retries through botocore, which reports errors
            ok = False
        if ok:
            self.misses = 0
        else:
            self.misses += 1
            if self.misses >= self.MAX_MISSES:
                self.enabled = False
        return ok


def make_fast_put(client, bucket):
    """A FastPut for this client, or None when its setup is not one the fast path knows."""
    try:
        return FastPut(client, bucket)
    except Exception:  # noqa: BLE001 - any surprise: use plain put_object
        return None
