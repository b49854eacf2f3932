"""Every test that uses the database starts from the program's defaults (the data migrations'
groups, catalogue, rates and tiers), whatever ran before it — also a flush."""

from django.contrib.auth.models import Group
from django.test import TestCase

from credits.models import ProgramSettings, QualifyingAction


class ADjangoTestCaseAfterAFlush(TestCase):
    """pytest runs the transactional browser tests, whose flush empties every table, ahead of
    the hypothesis property tests (Django `TestCase` classes): these found no catalogue, so
    no activity qualified (CI, revision 2)."""

    @classmethod
    def setUpClass(cls) -> None:
        super().setUpClass()
        # What a flush leaves (rolled back with the class).
        for model in (Group, QualifyingAction, ProgramSettings):
            model.objects.all().delete()

    def test_finds_the_program_defaults(self) -> None:
        assert Group.objects.filter(name="program admins").exists()
        assert QualifyingAction.objects.filter(tool="blog", action="publish").exists()
