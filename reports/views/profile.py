"""The user's own profile: their e-mail address and the notifications they receive.

Every logged-in user may see and change it, whatever their role (`core.roles.OWN_SETTINGS`):
it changes nothing but their own settings.
"""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from reports.forms.profile import NotificationProfileForm
from reports.selectors import notification_conditions
from reports.services.email_notifications import update_notification_preference


@require_http_methods(["GET", "POST"])
def profile(request: HttpRequest) -> HttpResponse:
    user = request.user
    initial = {"email": user.email, "conditions": sorted(notification_conditions(user))}
    form = NotificationProfileForm(request.POST or None, initial=initial)
    if request.method == "POST":
        if form.is_valid():
            update_notification_preference(
                user,
                email=form.cleaned_data["email"],
                conditions=set(form.cleaned_data["conditions"]),
                acting_user=user,
            )
            messages.success(request, _("Your e-mail notifications are saved."))
            return redirect("profile")
        return render(request, "reports/profile.html", {"form": form}, status=400)
    return render(request, "reports/profile.html", {"form": form})
