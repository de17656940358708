from django.apps import AppConfig


class JobKindsConfig(AppConfig):
    name = "tests.jobkinds"
    label = "tests_jobkinds"
