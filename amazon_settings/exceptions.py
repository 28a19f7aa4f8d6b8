"""What can go wrong with seller accounts; each leaf says what the caller must do."""


class AmazonSettingsError(Exception):
    """Base of this app's errors; the message is a sentence a seller can read."""


class ConsentStateInvalid(AmazonSettingsError):
    """The consent callback's state is missing, unknown, used or expired: start again."""


class AuthorizationFailed(AmazonSettingsError):
    """Amazon did not grant access (bad code, rejected token, denied call): nothing was stored."""


class ConsentMismatch(AmazonSettingsError):
    """Amazon's answer does not fit the flow that was started (another seller than the one
    being renewed, or a seller connected already): nothing was stored."""


class AmazonCallFailed(AmazonSettingsError):
    """Amazon refused a call a person made, or did not answer: the message says which."""


class AccountNotConnected(AmazonSettingsError):
    """The account has no usable authorization: renew access in Settings first."""


class TokenDecryptionFailed(AmazonSettingsError):
    """A stored token cannot be decrypted with the configured keys: an operator must fix keys."""


class PushNotConfigured(AmazonSettingsError):
    """This installation has no notification queue (PUSH_SQS_QUEUE_URL): push cannot be used."""


class NotificationQueueUnavailable(AmazonSettingsError):
    """The notification queue (SQS) did not answer or refused the call: try again later."""
