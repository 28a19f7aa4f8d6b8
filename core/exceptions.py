"""What can go wrong when an administrator manages users; each leaf says what the caller must do."""


class CoreError(Exception):
    """Base of this app's errors; the message is a sentence an administrator can read."""


class UserAlreadyExists(CoreError):
    """A user with this e-mail address exists: change that user's role instead of inviting."""


class NotOnYourself(CoreError):
    """An administrator may not deactivate or change the role of their own account: ask
    another administrator."""


class LastAdministrator(CoreError):
    """The change would leave no active administrator: make someone else one first."""


class SuperuserRole(CoreError):
    """A superuser holds every permission whatever their groups: change them in Django's admin."""


class InvitationNotSent(CoreError):
    """The user exists but the e-mail could not be sent: send the invitation again later."""
