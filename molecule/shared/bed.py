"""Test-bed chores for the molecule scenarios (create.yml, destroy.yml, the verifiers).

    bed.py layout NAME --port P      instance directory from the template, NOT started
    bed.py destroy NAME [--bucket B]...  instance with its volumes, and the scenario's buckets
    bed.py attach NAME               the S3 server on the instance's network (after compose create)
    bed.py keys BUCKET [--out FILE]  every key of the bucket, as JSON (none when it does not exist)
    bed.py media NAME --out FILE     every file of the instance's media volume, as JSON
    bed.py put BUCKET KEY            a small PNG-typed object at KEY (what an instance would write)

The S3 server is the one bookwyrm_testbed.load_s3() picks (TESTBED_S3_SERVER=rgw: Ceph RGW).

Thin wrapper over testbed/bookwyrm_testbed.py; the S3 credentials stay in .testbed/s3.env.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

REPO_DIR = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO_DIR / "testbed"))

import bookwyrm_testbed as bed  # noqa: E402


def empty_and_delete_bucket(name: str) -> int:
    """Remove every object (and unfinished upload) of the bucket, then the bucket."""
    from botocore.exceptions import ClientError

    client = bed.load_s3().client()
    try:
        client.head_bucket(Bucket=name)
    except ClientError:
        return 0
    removed = 0
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=name):
        keys = [{"Key": item["Key"]} for item in page.get("Contents", [])]
        for start in range(0, len(keys), 500):
            client.delete_objects(Bucket=name, Delete={"Objects": keys[start : start + 500], "Quiet": True})
        removed += len(keys)
    for upload in client.list_multipart_uploads(Bucket=name).get("Uploads", []):
        client.abort_multipart_upload(Bucket=name, Key=upload["Key"], UploadId=upload["UploadId"])
    client.delete_bucket(Bucket=name)
    return removed


def remove_bucket(name: str) -> int:
    """empty_and_delete_bucket, again once the server answers when it could not be reached: a
    scenario's cleanup outlives a moment when the host's published port refuses (seen once on
    RGW while the other lane recreated containers)."""
    from botocore.exceptions import ConnectionClosedError, EndpointConnectionError

    try:
        return empty_and_delete_bucket(name)
    except (EndpointConnectionError, ConnectionClosedError) as exc:
        print(f"{name}: {exc}; waiting for the S3 server", file=sys.stderr)
        bed.wait_s3_ready(bed.load_s3(), timeout=120)
        return empty_and_delete_bucket(name)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    layout = sub.add_parser("layout")
    layout.add_argument("name")
    layout.add_argument("--port", type=int, required=True)
    destroy = sub.add_parser("destroy")
    destroy.add_argument("name")
    destroy.add_argument("--bucket", action="append", default=[])
    attach = sub.add_parser("attach")
    attach.add_argument("name")
    keys = sub.add_parser("keys")
    keys.add_argument("bucket")
    keys.add_argument("--out", type=Path)
    media = sub.add_parser("media")
    media.add_argument("name")
    media.add_argument("--out", type=Path, required=True)
    put = sub.add_parser("put")
    put.add_argument("bucket")
    put.add_argument("key")
    args = parser.parse_args(argv)

    if args.command == "layout":
        bed.s3_up()
        existed = (bed.instances_dir() / args.name / ".env").exists()
        instance = bed.create_instance(args.name, args.port)
        print(json.dumps({"changed": not existed, "directory": str(instance.directory), "url": instance.url}))
    elif args.command == "destroy":
        existed = (bed.instances_dir() / args.name).exists()
        bed.destroy_instance(args.name)
        removed = sum(remove_bucket(bucket) for bucket in args.bucket)
        print(json.dumps({"changed": existed or removed > 0, "objects_removed": removed}))
    elif args.command == "attach":
        instance = bed.load_instance(args.name)
        before = bed.docker("inspect", "-f", "{{json .NetworkSettings.Networks}}", bed.S3_CONTAINER).stdout
        instance.attach_s3()
        print(json.dumps({"changed": instance.network not in json.loads(before)}))
    elif args.command == "keys":
        from botocore.exceptions import ClientError

        client = bed.load_s3().client()
        try:
            found = sorted(
                item["Key"]
                for page in client.get_paginator("list_objects_v2").paginate(Bucket=args.bucket)
                for item in page.get("Contents", [])
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "NoSuchBucket":
                raise
            found = []
        if args.out:
            args.out.write_text(json.dumps(found))
        print(json.dumps({"changed": False, "count": len(found), "objects": found}))
    elif args.command == "media":
        from moltest import Target

        found = sorted(Target(args.name).local_media())
        args.out.write_text(json.dumps(found))
        print(json.dumps({"changed": False, "count": len(found)}))
    elif args.command == "put":
        body = b"\x89PNG\r\n\x1a\n" + args.key.encode() * 64
        bed.load_s3().client().put_object(
            Bucket=args.bucket, Key=args.key, Body=body, ContentType="image/png", CacheControl="max-age=86400"
        )
        print(json.dumps({"changed": True, "key": args.key, "size": len(body)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
