import pytest
from django.test import RequestFactory

from migrator.core.middleware import ServiceErrorMiddleware
from migrator.core.services import NotAllowed, ServiceError


def test_unhandled_not_allowed_becomes_permission_denied():
    from django.core.exceptions import PermissionDenied

    middleware = ServiceErrorMiddleware(lambda request: None)
    with pytest.raises(PermissionDenied, match="no approving"):
        middleware.process_exception(RequestFactory().get("/"), NotAllowed("no approving"))


@pytest.mark.django_db
def test_unhandled_service_error_is_a_400_page_with_the_message(admin_user):
    request = RequestFactory().post("/")
    request.user = admin_user
    response = ServiceErrorMiddleware(lambda r: None).process_exception(request, ServiceError("Version #9 is gone."))
    assert response.status_code == 400 and b"Version #9 is gone." in response.content


def test_other_exceptions_are_left_alone():
    assert ServiceErrorMiddleware(lambda r: None).process_exception(RequestFactory().get("/"), ValueError("x")) is None


def test_message_for_shows_rule_refusals_and_passes_permission_refusals_on():
    from migrator.core.views.common import message_for

    assert message_for(ServiceError("Version #9 is gone.")) == "Version #9 is gone."
    with pytest.raises(NotAllowed, match="no approving"):
        message_for(NotAllowed("no approving"))


@pytest.mark.django_db
def test_under_debug_a_wrong_address_and_a_crash_get_the_friendly_pages(client, admin_user, settings):
    from django.http import Http404

    from migrator.core.middleware import FriendlyErrorsInDebugMiddleware

    settings.DEBUG = True
    client.force_login(admin_user)
    missing = client.get("/no/such/page/")
    assert missing.status_code == 404 and b"There is nothing at this address" in missing.content
    assert b"Django tried these URL patterns" not in missing.content
    in_view = client.get("/assistants/999999999/")
    assert in_view.status_code == 404 and b"There is nothing at this address" in in_view.content
    request = RequestFactory().get("/assistants/")
    request.user = admin_user
    middleware = FriendlyErrorsInDebugMiddleware(lambda r: None)
    crash = middleware.process_exception(request, ValueError("boom"))
    assert crash.status_code == 500 and b"Something went wrong on our side" in crash.content
    assert middleware.process_exception(request, Http404("x")).status_code == 404
    # The API keeps its own JSON answers, and without DEBUG Django's handlers do the same job.
    assert middleware.process_exception(RequestFactory().get("/api/v1/flows/x/config"), ValueError("x")) is None
    settings.DEBUG = False
    assert middleware.process_exception(request, ValueError("boom")) is None


@pytest.mark.django_db
def test_a_refusal_goes_where_the_view_said_with_its_message_and_permission_refusals_stay_403(client, product_owner):
    from tests.prompts.factories import PromptVersionFactory

    version = PromptVersionFactory()
    client.force_login(product_owner)
    # A rule refusal (moving the production label) is a flash message on the page the view named.
    response = client.post(f"/prompts/assistants/{version.assistant_id}/labels/",
                           {"label": "production", "version": version.number, "reason": "x"}, follow=True)
    assert response.redirect_chain and response.redirect_chain[-1][1] == 302
    assert "set per flow by a cutover" in response.content.decode()
    client.force_login(product_owner.__class__.objects.create(username="nobody"))
    assert client.post(f"/prompts/assistants/{version.assistant_id}/generate/").status_code in (403, 404)
