from django.urls import path

from migrator.prompts.views import convert, editor, output, review, reviews

app_name = "prompts"

urlpatterns = [
    path("assistants/<int:pk>/", review.assistant_prompt, name="assistant_prompt"),
    path("assistants/<int:pk>/generate/", review.generate, name="generate"),
    path("assistants/<int:pk>/labels/", review.move_label, name="move_label"),
    path("assistants/<int:pk>/compare/", output.compare, name="compare"),
    path("assistants/<int:pk>/code/", output.assistant_code, name="assistant_code"),
    path("versions/<int:pk>/edit/", editor.edit, name="edit"),
    path("versions/<int:pk>/validate/", editor.validate, name="validate"),
    path("versions/<int:pk>/approve/", review.approve, name="approve"),
    path("versions/<int:pk>/comments/", review.comment, name="comment"),
    path("versions/<int:pk>/strict/", review.strict_choice, name="strict_choice"),
    path("versions/<int:pk>/code/", output.version_code, name="version_code"),
    path("versions/<int:pk>/export.json", review.export, name="export"),
    path("versions/<int:pk>/try/", output.try_version, name="try"),
    path("tries/<int:pk>/continue/", output.try_continue, name="try_continue"),
    path("tries/<int:pk>/live/", output.try_live, name="try_live"),
    path("versions/<int:pk>/request-review/", reviews.request_review, name="request_review"),
    path("reviews/", reviews.review_inbox, name="reviews"),
    path("convert/", convert.convert_page, name="convert"),
    path("reviews/<int:pk>/withdraw/", reviews.withdraw_review, name="withdraw_review"),
]
