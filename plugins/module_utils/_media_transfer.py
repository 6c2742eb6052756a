# -*- coding: utf-8 -*-
# Copyright: (c) 2026, bookwyrm.s3 contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""Moving one file: upload (push) or download (pull), through the engine chosen.

Engines (option ``engine``):
- ``signed_put`` (the default): ``boto3``, but each small body goes out as one PUT signed with
  botocore's SigV4 signer and sent through a botocore HTTP session of its own (``SignedPut``),
  without the client's per-call pipeline; any answer but 2xx goes through ``put_object``.
- ``boto3``: ``put_object`` of small bodies read whole (one round trip, no
  ``Expect: 100-continue``), boto3's transfer manager for big files and for downloads.
- ``crt``: s3transfer's CRT transfer manager (``awscrt``, native code: signing, HTTP and
  connection management outside the interpreter lock). Needs ``awscrt`` on the host.
All three use public names only (no attribute of botocore's with a leading underscore).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import socket
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
ENGINES = ("signed_put", "boto3", "crt")
# engine=auto: the first of these the host can run. The order is what `make bench` measured
# (docs/benchmarks.md).
AUTO_ENGINES = ("signed_put",)
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
        return next((name for name in AUTO_ENGINES if name != "crt" or crt_available()), "signed_put")
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

    def __init__(self, client, bucket, prefix, engine="boto3", crt_factory=None, signed_put_factory=None, **options):
        super(Transfer, self).__init__(client, bucket, prefix, **options)
        self.engine = engine
        self._lock = threading.Lock()
        self._crt_factory = crt_factory
        self._crt = None
        self._signed_put_factory = signed_put_factory
        # False: never made (another engine, or no factory); None: made on first use
        self._signed_put = None if signed_put_factory and engine == "signed_put" else False

    def extra_args(self, name):
        args = {"ContentType": content_type(name)}
        if self.cache_control:
            args["CacheControl"] = self.cache_control
        if self.acl:
            args["ACL"] = self.acl
        return args

    def _made_once(self, attr, make):
        """``self.<attr>``, made by ``make()`` on first use by whichever thread comes first (in
        the process that sends: nothing made crosses a fork); None when ``make`` gave nothing."""
        if getattr(self, attr) is None:
            with self._lock:
                if getattr(self, attr) is None:
                    setattr(self, attr, make() or False)
        return getattr(self, attr) or None

    def _crt_manager(self):
        return self._made_once("_crt", self._crt_factory)

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
            signed_put = self._signed_put_sender()
            headers = dict((HEADER_NAMES[name], value) for name, value in extra.items())
            if signed_put is None or not signed_put.put(key, body, headers):
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

    def _signed_put_sender(self):
        return self._made_once("_signed_put", lambda: self._signed_put_factory(self.client, self.bucket))

    def close(self):
        if self._crt:
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


# ---- engine=signed_put ----------------------------------------------------------------------


class SignedPut(object):
    """PutObject of a small body in one signed request, without the client's per-call pipeline.

    ``put_object`` spends about a millisecond of CPU per call before and after the request
    (events, parameter validation, endpoint rules, parsing); over a slow link many transfers
    run at once and that CPU is what limits the rate. Here the request is built the way botocore
    builds it, from public parts only: the URL from the client itself
    (``generate_presigned_url``, so endpoint, addressing style and bucket are botocore's), signed
    by botocore's SigV4 signer (``botocore.auth.S3SigV4Auth``) with the session's credentials,
    sent through a ``botocore.httpsession.URLLib3Session`` with the client's timeouts, proxies
    and pool size. Any answer other than 2xx, or any exception, returns False: the caller then
    sends a normal ``put_object`` (botocore's retries and error reporting); after a few misses in
    a row this path switches itself off for the run.
    """

    MARKER = "bookwyrm-s3-signed-put-probe"
    MAX_MISSES = 3
    SIGNATURE_VERSIONS = (None, "s3v4", "v4")

    def __init__(self, client, bucket, credentials, verify=None):
        from botocore.auth import S3SigV4Auth
        from botocore.awsrequest import AWSRequest
        from botocore.httpsession import URLLib3Session
        from botocore.utils import get_environ_proxies

        config = client.meta.config
        if getattr(config, "signature_version", None) not in self.SIGNATURE_VERSIONS:
            raise ValueError("signs with SigV4 only")
        if getattr(config, "request_checksum_calculation", None) == "when_supported":
            raise ValueError("the user asked for checksums on every request: put_object sends them")
        if credentials is None:
            raise ValueError("no credentials (anonymous client)")
        url = client.generate_presigned_url("put_object", Params={"Bucket": bucket, "Key": self.MARKER}, ExpiresIn=60)
        base = url.split("?", 1)[0]
        if not base.endswith("/" + self.MARKER):
            raise ValueError("unexpected URL layout: %s" % base)
        self.base = base[: -len(self.MARKER)]
        self.credentials = credentials
        self.region = client.meta.region_name or "us-east-1"
        self.session = URLLib3Session(
            verify=True if verify is None else verify,
            proxies=config.proxies or get_environ_proxies(self.base),
            timeout=(config.connect_timeout, config.read_timeout),
            max_pool_connections=config.max_pool_connections,
            # without TCP_NODELAY a request's headers and body wait on delayed ACKs (40 ms each)
            socket_options=[(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)],
            client_cert=config.client_cert,
            proxies_config=config.proxies_config,
        )
        self.auth = S3SigV4Auth
        self.request = AWSRequest
        # The Host header as the signer works it out from the URL (it would, twice per request)
        self.host = S3SigV4Auth(credentials, "s3", self.region).headers_to_sign(AWSRequest("PUT", self.base))["host"]
        self.misses = 0
        self.enabled = True

    def put(self, key, body, headers):
        if not self.enabled:
            return False
        try:
            url = self.base + quote(key, safe="/~")
            request = self.request("PUT", url, data=body, headers=dict(headers, host=self.host))
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


def make_signed_put(client, bucket, credentials, verify=None):
    """A SignedPut for this client, or None when its setup is not one this path knows."""
    try:
        return SignedPut(client, bucket, credentials, verify)
    except Exception:  # noqa: BLE001 - any surprise: plain put_object
        return None
