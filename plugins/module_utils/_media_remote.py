# -*- coding: utf-8 -*-
# Copyright: (c) 2026, bookwyrm.s3 contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""The bucket side of a media sync: the listing in key order (in parallel by prefix) and
the ETag arithmetic that tells whether a local file is the object's content.

S3 lists keys in the order of their UTF-8 bytes. The listing walks the prefix like a tree:
each node is first listed with a delimiter; a small one yields its files and subdirectories,
one with many subdirectories is listed whole, one larger than a page is cut into prefixes one
character longer. The nodes a little ahead of the reader are listed at the same time, each
a few pages ahead; the planner reads one sorted stream and memory holds a bounded number of
pages, whatever the size of the bucket.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import collections
import hashlib
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from xml.etree import ElementTree

try:
    from botocore.parsers import ResponseParserFactory
except ImportError:  # pragma: no cover - the module that imports this one reports boto3 missing
    ResponseParserFactory = object

from ansible_collections.bookwyrm.s3.plugins.module_utils._media_errors import MediaSyncListError

MB = 1024 * 1024
PAGE = 1000
PAGES_AHEAD = 3  # pages a range may list ahead of the reader
NODES_AHEAD = 16  # sibling prefixes listed ahead of the reader (at each level being read)
MAX_SUBDIRS = 16  # a node with more subdirectories is listed whole (a page holds many)
SPLIT_DEPTH = 3  # how many characters a big prefix may be cut by
ASCII_END = 0x80


def _code(exc):
    return ((getattr(exc, "response", None) or {}).get("Error", {}) or {}).get("Code")


def _next_char(key, prefix):
    return key[len(prefix)] if len(key) > len(prefix) else ""


# One listed object (a tuple: the listing holds many pages of them).
RemoteObject = collections.namedtuple("RemoteObject", ("relpath", "size", "etag"))


class _Page(object):
    """One answer, reduced to what the sync reads (botocore's dicts are dropped at once)."""

    __slots__ = ("dirs", "keys", "objects", "truncated")

    def __init__(self, listing, answer):
        cut = len(listing.list_prefix)
        self.objects = []
        self.keys = []
        for obj in answer.get("Contents", ()):
            key = obj["Key"]
            self.keys.append(key)
            rel = key[cut:]
            if rel and not rel.endswith("/"):
                self.objects.append(RemoteObject(rel, obj["Size"], obj.get("ETag", "").strip('"')))
        self.dirs = [common["Prefix"] for common in answer.get("CommonPrefixes", ())]
        self.truncated = bool(answer.get("IsTruncated"))


class _Pages(object):
    """The pages of one key range, requested ahead by the listing's pool.

    Keys under ``prefix`` after ``after`` (S3's StartAfter), less those starting with
    ``skip``. Each finished request queues the next while fewer than ``ahead`` pages wait:
    no pool thread ever blocks on a reader.
    """

    def __init__(
        self, listing, prefix, after=None, skip=None, delimiter=False, ahead=PAGES_AHEAD, on_page=None, start=True
    ):
        self.listing = listing
        self.on_page = on_page
        self.kwargs = dict(Prefix=prefix, MaxKeys=PAGE)
        if after is not None:
            self.kwargs["StartAfter"] = after
        if delimiter:
            self.kwargs["Delimiter"] = "/"
        self.skip = skip
        self.ahead = ahead
        self.pages = collections.deque()
        self.cond = threading.Condition()
        self.busy = False
        self.finished = False
        if start:
            self._next()

    def _next(self):
        with self.cond:
            if self.busy or self.finished or len(self.pages) >= self.ahead or self.listing.stopped():
                return
            self.busy = True
        self.listing.submit(self._fetch)

    def _fetch(self):
        token = None
        try:
            answer = self.listing.call(**self.kwargs)
            page = _Page(self.listing, answer)
            if page.truncated:
                token = answer.get("NextContinuationToken")
        except Exception as exc:  # noqa: BLE001 - handed to the reader, which raises it
            page = exc
        with self.cond:
            self.pages.append(page)
            self.busy = False
            if token:
                self.kwargs.pop("StartAfter", None)
                self.kwargs["ContinuationToken"] = token
            else:
                self.finished = True
            self.cond.notify_all()
        if self.on_page is not None:
            self.on_page()
        self._next()

    def _wait(self, take):
        with self.cond:
            while not self.pages and not self.finished:
                self.cond.wait(0.5)
            if not self.pages:
                return None
            page = self.pages.popleft() if take else self.pages[0]
        if take:
            self._next()
        if isinstance(page, Exception):
            raise page
        return page

    def first(self):
        """The first page, left in place."""
        return self._wait(take=False)

    def objects(self):
        prefix, skip = self.listing.list_prefix, self.skip
        while True:
            page = self._wait(take=True)
            if page is None:
                return
            for obj in page.objects:
                if skip is None or not (prefix + obj.relpath).startswith(skip):
                    yield obj


class _Node(object):
    """A prefix of the listing: its delimited first page tells how it is read."""

    def __init__(self, listing, prefix, depth):
        self.listing = listing
        self.prefix = prefix
        self.depth = depth
        self.probe = None
        self.plan = None
        self.lock = threading.Lock()

    def start(self):
        if self.probe is None:
            # assigned before its request goes out: the answer's callback reads it
            self.probe = _Pages(self.listing, self.prefix, delimiter=True, ahead=1, on_page=self._early, start=False)
            self.probe._next()
        return self

    def _early(self):
        """Decide as soon as the first page is in (a pool thread): a big range starts listing
        before the reader gets there."""
        try:
            self._plan()
        except Exception:  # noqa: BLE001, S110 - the reader decides again and raises it
            pass

    def _plan(self):
        with self.lock:
            if self.plan is None:
                self.plan = self._decide()
            return self.plan

    def _decide(self):
        """('pages', range) | ('items', [RemoteObject or _Node, ...] in key order)."""
        listing, prefix = self.listing, self.prefix
        page = self.start().probe.first()
        if page.truncated:
            keys = page.keys + page.dirs
            last = max(keys)
            chars = set(_next_char(key, prefix) for key in keys)
            big = page.dirs or len(chars) == 1
            if self.depth < SPLIT_DEPTH and big and "" < _next_char(last, prefix) < "\x7f":
                return "items", self._split(page, last)
            return "pages", _Pages(listing, prefix)
        if len(page.dirs) > MAX_SUBDIRS:
            return "pages", _Pages(listing, prefix)
        cut = len(listing.list_prefix)
        entries = [(obj.relpath, obj) for obj in page.objects]
        entries += [(common[cut:], _Node(listing, common, self.depth)) for common in page.dirs]
        entries.sort(key=lambda entry: entry[0])
        return "items", [entry for _rel, entry in entries]

    def _split(self, page, last):
        """The prefix cut by its next character. Characters before the page's last one that
        the page does not hold hold nothing (a page is a run of consecutive keys)."""
        prefix = self.prefix
        items = [obj for obj in page.objects if self.listing.list_prefix + obj.relpath == prefix]
        end = _next_char(last, prefix)
        seen = set(_next_char(key, prefix) for key in page.keys + page.dirs)
        chars = sorted(char for char in seen if "" < char < end)
        chars += [chr(code) for code in range(ord(end), ASCII_END)]
        items += [_Node(self.listing, prefix + char, self.depth + 1) for char in chars]
        # Keys whose next character is past ASCII: one range after prefix + DEL.
        items.append(_Pages(self.listing, prefix, after=prefix + "\x7f", skip=prefix + "\x7f"))
        return items

    def objects(self):
        kind, plan = self.start()._plan()
        self.probe = None  # its page is not needed any more
        if kind == "pages":
            yield from plan.objects()
            return
        ahead = collections.deque()
        items = iter(plan)
        while True:
            while len(ahead) < NODES_AHEAD:
                item = next(items, None)
                if item is None:
                    break
                ahead.append(item.start() if isinstance(item, _Node) else item)
            if not ahead:
                return
            item = ahead.popleft()
            if isinstance(item, RemoteObject):
                yield item
            else:
                yield from item.objects()


class RemoteListing(object):
    """The objects under ``bucket/prefix`` as a stream of RemoteObject in key order.

    Up to ``workers`` requests run at once (see the module's docstring for how the prefix is
    cut). ``missing_bucket_is_empty``: a dry run before the bucket exists plans against an
    empty one. Errors are raised as MediaSyncListError. ``round_trips`` keeps the duration of
    the first requests (the planner sizes the worker count from them).
    """

    def __init__(self, client, bucket, prefix, workers=8, missing_bucket_is_empty=False):
        self.client = client
        self.bucket = bucket
        prefix = prefix.strip("/")
        self.list_prefix = prefix + "/" if prefix else ""
        self.workers = max(1, workers)
        self.missing_bucket_is_empty = missing_bucket_is_empty
        self.round_trips = []
        self.requests = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._pool = None

    def call(self, **kwargs):
        started = time.time()
        answer = self.client.list_objects_v2(Bucket=self.bucket, **kwargs)
        with self._lock:
            self.requests += 1
            if len(self.round_trips) < 16:
                self.round_trips.append(time.time() - started)
        return answer

    def submit(self, fn):
        try:
            self._pool.submit(fn)
        except RuntimeError:  # the pool is shut down: the stream has ended
            pass

    def stopped(self):
        return self._stop.is_set()

    def __iter__(self):
        self._pool = ThreadPoolExecutor(max_workers=self.workers)
        previous = None
        try:
            root = _Node(self, self.list_prefix, 0)
            try:
                root.start().probe.first()
            except Exception as exc:
                if self.missing_bucket_is_empty and _code(exc) == "NoSuchBucket":
                    return
                raise MediaSyncListError(
                    message="Listing s3://%s/%s" % (self.bucket, self.list_prefix), exception=exc
                ) from exc
            try:
                for obj in root.objects():
                    if previous is not None and obj.relpath <= previous:
                        raise MediaSyncListError(
                            message="The server listed %r after %r: not in key order, so the sync cannot "
                            "compare by merging. Nothing was changed past this point." % (obj.relpath, previous)
                        )
                    previous = obj.relpath
                    yield obj
            except MediaSyncListError:
                raise
            except Exception as exc:
                raise MediaSyncListError(
                    message="Listing s3://%s/%s" % (self.bucket, self.list_prefix), exception=exc
                ) from exc
        finally:
            self._stop.set()
            self._pool.shutdown(wait=True)

    def min_round_trip(self):
        """The quickest listing request so far: the round trip plus the least server time."""
        with self._lock:
            return min(self.round_trips) if self.round_trips else None


def list_remote(client, bucket, prefix, missing_bucket_is_empty=False, workers=8):
    """{relative key: (size, etag)} for every object under prefix (small buckets, tests)."""
    listing = RemoteListing(client, bucket, prefix, workers=workers, missing_bucket_is_empty=missing_bucket_is_empty)
    return dict((obj.relpath, (obj.size, obj.etag)) for obj in listing)


def listing_session(botocore_session):
    """Make the clients of ``botocore_session`` read ListObjectsV2 answers with ListingParser,
    and leave other answers' timestamps as text (public API: the session's
    ``response_parser_factory`` component). Returns the session."""
    factory = ListingParserFactory()
    factory.set_parser_defaults(timestamp_parser=str)
    botocore_session.register_component("response_parser_factory", factory)
    return botocore_session


def _header_members(shape):
    return [
        (name, member.serialization["name"])
        for name, member in shape.members.items()
        if member.serialization.get("location") == "header"
    ]


def _xml_name(member, name):
    if member.type_name == "list" and member.serialization.get("flattened"):
        return member.member.serialization.get("name") or member.serialization.get("name") or name
    return member.serialization.get("name") or name


def _reader(shape):
    """A function reading one element as botocore's rest-xml parser reads ``shape`` (timestamps
    as text); ListingParseError for a type a listing does not hold."""
    kind = shape.type_name
    if kind == "structure":
        return _structure_reader(shape)
    if kind == "list":
        item = _reader(shape.member)
        return lambda element: [item(child) for child in element]
    if kind in ("integer", "long"):
        return lambda element: int(element.text)
    if kind == "boolean":
        return lambda element: element.text == "true"
    if kind in ("string", "timestamp"):
        return lambda element: element.text or ""
    raise ListingParseError(kind)


def _structure_reader(shape):
    fields = {}
    for name, member in shape.members.items():
        if member.serialization.get("location"):  # a header, not the body
            continue
        flattened = member.type_name == "list" and bool(member.serialization.get("flattened"))
        fields[_xml_name(member, name)] = (name, _reader(member.member if flattened else member), flattened)
    by_tag = {}  # "{namespace}Key" -> the field of "Key" (None: not in the shape)

    def read(element):
        parsed = {}
        for child in element:
            tag = child.tag
            try:
                field = by_tag[tag]
            except KeyError:
                field = by_tag[tag] = fields.get(tag[tag.rfind("}") + 1 :])
            if field is None:
                continue
            name, reader, flattened = field
            if flattened:
                parsed.setdefault(name, []).append(reader(child))
            else:
                parsed[name] = reader(child)
        return parsed

    return read


class ListingParseError(ValueError):
    """An answer ListingParser does not read; botocore's parser reads it."""


class ListingParser(object):
    """botocore's rest-xml parser, except for a successful ListObjectsV2 answer: that one is read
    with ElementTree straight into the dict botocore would make (a fifth of botocore's CPU,
    which was most of a resync's: a page is a thousand keys). Errors, other operations and
    anything unexpected go to botocore's parser. test__media_remote compares the two on
    the same answers, so that a botocore that reads them differently fails the tests."""

    SHAPES = ("ListObjectsV2Output",)

    def __init__(self, fallback):
        self.fallback = fallback
        self.readers = {}

    def parse(self, response, shape):
        if shape is None or shape.name not in self.SHAPES or response["status_code"] >= 301 or not response["body"]:
            return self.fallback.parse(response, shape)
        try:
            reader = self.readers.get(shape.name)
            if reader is None:
                reader = self.readers[shape.name] = (_structure_reader(shape), _header_members(shape))
            read, header_members = reader
            # ElementTree, as botocore's own parser: no external entities are fetched
            parsed = read(ElementTree.fromstring(response["body"]))  # noqa: S314
        except (ListingParseError, ElementTree.ParseError, ValueError, TypeError):
            return self.fallback.parse(response, shape)
        headers = response["headers"]
        for name, header in header_members:
            if header in headers:
                parsed[name] = headers[header]
        metadata = {}
        if "x-amzn-requestid" in headers:
            metadata["RequestId"] = headers["x-amzn-requestid"]
        elif "x-amz-request-id" in headers:
            metadata["RequestId"] = headers["x-amz-request-id"]
            metadata["HostId"] = headers.get("x-amz-id-2", "")
        metadata["HTTPStatusCode"] = response["status_code"]
        metadata["HTTPHeaders"] = dict((key.lower(), value) for key, value in headers.items())
        algorithm = response.get("context", {}).get("checksum", {}).get("response_algorithm")
        if algorithm:
            metadata["ChecksumAlgorithm"] = algorithm
        parsed["ResponseMetadata"] = metadata
        return parsed


class ListingParserFactory(ResponseParserFactory):
    """botocore's parser factory (public), its rest-xml parsers wrapped in ListingParser."""

    def create_parser(self, protocol_name):
        parser = super(ListingParserFactory, self).create_parser(protocol_name)
        return ListingParser(parser) if protocol_name == "rest-xml" else parser


# ---- ETags ---------------------------------------------------------------------------------


def file_md5(path, chunk=MB):
    digest = hashlib.md5()  # noqa: S324 - S3's ETag is an MD5, not a security check
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(chunk), b""):
            digest.update(block)
    return digest.hexdigest()


# Part sizes uploaders commonly use (boto3/aws-cli 8 MiB, rclone 5 MiB, s3cmd 15 MiB, ...).
COMMON_PART_SIZES = (8 * MB, 5 * MB, 16 * MB, 15 * MB, 10 * MB, 64 * MB, 100 * MB)


def candidate_part_sizes(size, parts, preferred=()):
    """Part sizes that cut ``size`` bytes into exactly ``parts`` parts, likeliest first.

    The ETag keeps the part count, not the size: try the sizes uploaders use, then the
    powers of two.
    """
    candidates = list(preferred) + list(COMMON_PART_SIZES)
    power = MB
    while power <= 5 * 1024 * MB:
        candidates.append(power)
        power *= 2
    seen = set()
    for part_size in candidates:
        if part_size in seen or part_size <= 0:
            continue
        seen.add(part_size)
        if (size + part_size - 1) // part_size == parts:
            yield part_size


def multipart_etag(path, part_size):
    """The ETag S3 gives a multipart upload of this file in parts of ``part_size``."""
    digests = []
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(part_size), b""):
            digests.append(hashlib.md5(block).digest())  # noqa: S324
    return "%s-%d" % (hashlib.md5(b"".join(digests)).hexdigest(), len(digests))  # noqa: S324


def same_content(local, remote_etag, preferred_part_sizes=()):
    """True/False when the content can be compared with the ETag, None when it cannot."""
    if "-" in remote_etag:
        _head, _sep, count = remote_etag.rpartition("-")
        if not count.isdigit():
            return None
        for part_size in candidate_part_sizes(local.size, int(count), preferred_part_sizes):
            if multipart_etag(local.path, part_size) == remote_etag:
                return True
        return None  # written with a part size we cannot guess: unknown, not "different"
    if len(remote_etag) == 32:
        return file_md5(local.path) == remote_etag
    return None  # an ETag that is not an MD5 (SSE-KMS, some providers, empty): cannot tell
