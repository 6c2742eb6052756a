"""A stand-in for AnsibleAWSModule with just what the managers use: params, check and diff
mode, region, warnings, and fail_json(_aws) raising instead of exiting."""

ENDPOINT = "http://s3.example.test:8333"  # never contacted: the tests stub every call


class FailJson(Exception):
    def __init__(self, kwargs):
        super().__init__(kwargs.get("msg"))
        self.kwargs = kwargs


class FakeModule:
    def __init__(self, params, check_mode=False, diff=True, region="us-east-1"):
        self.params = params
        self.check_mode = check_mode
        self._diff = diff
        self.region = region
        self.warnings = []

    def fail_json(self, **kwargs):
        raise FailJson(kwargs)

    def fail_json_aws(self, exception, msg=None, **kwargs):
        raise FailJson(dict(msg=msg, exception=exception, **kwargs))

    def warn(self, message):
        self.warnings.append(message)
