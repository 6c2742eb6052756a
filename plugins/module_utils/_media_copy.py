# -*- coding: utf-8 -*-
# Copyright: (c) 2026, bookwyrm.s3 contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""Bucket to bucket: the objects of an instance's current bucket that its new bucket lacks.

An instance already on object storage that moves to another bucket (or provider) has media
that exist only in its current bucket: everything it wrote after its first cutover. They are
copied object by object, never through a full local copy:
- server-side (``CopyObject``) when one client reaches both buckets: one endpoint, one set of
  credentials. The bytes never leave the provider.
- streamed otherwise: each object is read from the source and written to the target as it
  arrives (a small one in one PUT, a big one in parts), so memory and disk stay flat.
Nothing in the source is ever changed or deleted; an object the target already holds with the
same content is left alone, one with other content is a conflict (``overwrite`` aside).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.bookwyrm.s3.plugins.module_utils._media_errors import MediaSyncOptionError
from ansible_collections.bookwyrm.s3.plugins.module_utils._media_transfer import Mover
from ansible_collections.bookwyrm.s3.plugins.module_utils._media_tree import content_type, join_key

MB = 1024 * 1024
SMALL_BODY = MB  # streamed objects below this are read whole and sent in one PUT
COPY_OBJECT_LIMIT = 5 * 1024 * MB  # the largest object one CopyObject request may copy
SERVER_SIDE = "server-side"
STREAMED = "streamed"
COPY_METHODS = ("auto", SERVER_SIDE, STREAMED)


def resolve_copy_method(requested, source_endpoint, target_endpoint, source_access_key, target_access_key):
    """``auto`` is server-side only when one client can read the source and write the target."""
    if requested not in COPY_METHODS:
        raise MediaSyncOptionError(
            message="source.method must be one of %s; got %r." % (", ".join(COPY_METHODS), requested)
        )
    if requested != "auto":
        return requested
    same_endpoint = (source_endpoint or "").rstrip("/") == (target_endpoint or "").rstrip("/")
    return SERVER_SIDE if same_endpoint and source_access_key == target_access_key else STREAMED


def _plain_md5(etag):
    return len(etag or "") == 32 and "-" not in etag


def same_object(source, target, compare="size"):
    """True when ``target`` holds ``source``'s content, False when not, None when it cannot be told.

    Sizes first (BookWyrm never rewrites a media file in place). With ``compare=checksum`` the
    ETags are compared when both are plain MD5s; a multipart ETag depends on the part size of
    whoever wrote the object, so two of them that differ prove nothing.
    """
    if source.size != target.size:
        return False
    if compare == "size" or (source.etag and source.etag == target.etag):
        return True
    if _plain_md5(source.etag) and _plain_md5(target.etag):
        return False
    return None


class CopySource(object):
    """Where a copy reads from: a client for the source, its bucket and prefix, and the method."""

    def __init__(self, client, bucket, prefix, method=STREAMED):
        if method not in (SERVER_SIDE, STREAMED):
            raise MediaSyncOptionError(
                message="copy method must be %s or %s; got %r." % (SERVER_SIDE, STREAMED, method)
            )
        self.client = client
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.method = method

    def label(self, relpath=""):
        return "s3://%s/%s" % (self.bucket, join_key(self.prefix, relpath) if relpath else self.prefix + "/")


class ObjectCopier(Mover):
    """Copies single objects from a CopySource to ``bucket/prefix`` (the Transfer of a copy)."""

    def __init__(self, client, bucket, prefix, source, cache_control=None, **options):
        super(ObjectCopier, self).__init__(client, bucket, prefix, cache_control=cache_control, **options)
        self.source = source

    def _acl(self):
        return {"ACL": self.acl} if self.acl else {}

    def copy(self, obj):
        """Copy one RemoteObject of the source; returns the target key."""
        key = join_key(self.prefix, obj.relpath)
        source_key = join_key(self.source.prefix, obj.relpath)
        if self.source.method == SERVER_SIDE:
            self._server_side(obj, source_key, key)
        else:
            self._streamed(obj, source_key, key)
        return key

    def _server_side(self, obj, source_key, key):
        copy_source = {"Bucket": self.source.bucket, "Key": source_key}
        if obj.size <= COPY_OBJECT_LIMIT:
            # MetadataDirective COPY keeps the object's Content-Type and Cache-Control.
            self.client.copy_object(
                CopySource=copy_source, Bucket=self.bucket, Key=key, MetadataDirective="COPY", **self._acl()
            )
            return
        # Over CopyObject's limit: a multipart copy, still server-side (UploadPartCopy). Its
        # CreateMultipartUpload carries no metadata of the source, so pass it on.
        head = self.client.head_object(Bucket=self.source.bucket, Key=source_key)
        extra = self._headers(head, obj.relpath)
        self.client.copy(copy_source, self.bucket, key, ExtraArgs=extra, Config=self._config())

    def _headers(self, answer, relpath):
        extra = {"ContentType": answer.get("ContentType") or content_type(relpath)}
        cache_control = answer.get("CacheControl") or self.cache_control
        if cache_control:
            extra["CacheControl"] = cache_control
        extra.update(self._acl())
        return extra

    def _streamed(self, obj, source_key, key):
        answer = self.source.client.get_object(Bucket=self.source.bucket, Key=source_key)
        body = answer["Body"]
        extra = self._headers(answer, obj.relpath)
        try:
            if obj.size < SMALL_BODY:
                self.client.put_object(Bucket=self.bucket, Key=key, Body=body.read(), **extra)
            else:
                # Read in parts as they arrive: at most a few parts in memory, never a local file.
                self.client.upload_fileobj(body, self.bucket, key, ExtraArgs=extra, Config=self._config())
        finally:
            body.close()
