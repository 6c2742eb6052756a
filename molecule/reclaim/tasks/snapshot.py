"""Every media file below argv[1]: {path: [size, md5, mode, uid, gid]} as JSON (python3 -c on the host)."""

import hashlib
import json
import os
import sys

root = sys.argv[1]
files = {}
for directory, _dirs, names in os.walk(root):
    for name in names:
        path = os.path.join(directory, name)
        st = os.lstat(path)
        with open(path, "rb") as handle:
            md5 = hashlib.md5(handle.read()).hexdigest()  # noqa: S324 - what S3's ETag is
        files[os.path.relpath(path, root)] = [st.st_size, md5, "%04o" % (st.st_mode & 0o7777), st.st_uid, st.st_gid]
print(json.dumps(files, sort_keys=True))
