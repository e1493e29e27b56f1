"""One root exception for the project, with a subclass per domain."""


class FrontdeskError(Exception):
    """Root of every error this project raises on purpose."""


class ConfigError(FrontdeskError):
    """A configuration key is missing or wrong; the message names the key."""


class KnowledgeError(FrontdeskError):
    """The knowledge base is broken; carries every problem as `file:line: message`."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("\n".join(problems))


class StoreError(FrontdeskError):
    """The store could not do what was asked."""


class WeChatAPIError(FrontdeskError):
    """The WeChat API answered with an error code, or could not be reached."""

    def __init__(self, errcode: int, errmsg: str):
        self.errcode = errcode
        self.errmsg = errmsg
        super().__init__(f"WeChat API error {errcode}: {errmsg}")


class WeChatUncertain(WeChatAPIError):
    """A send whose outcome is unknown: WeChat took the request but no answer came back in time
    (a timeout, a dropped connection). It may have reached the resident already."""

    def __init__(self, errmsg: str):
        super().__init__(-1, errmsg)
