"""The import report in words, as the command line and the job log print it."""

from migrator.inventory.services.report import ImportReport


def test_the_summary_leaves_out_what_did_not_happen_and_problems_say_what_and_where():
    report = ImportReport()
    report.add("assistants", "created", 3)
    report.add("assistants", "unchanged", 5)
    report.add("threads", "unchanged", 0)
    assert report.summary() == "assistants: 3 new, 5 unchanged"
    assert "unchanged 0" not in report.summary() and report.problems() == ""
    assert ImportReport().summary() == "nothing to import"
    report.error("thread thread_1", "no messages", kind="thread")
    assert report.summary() == "assistants: 3 new, 5 unchanged; threads: 1 rejected"
    assert report.problems() == "1 object was rejected; each problem is listed above with where it is."
    report.error("line 7", "not JSON")
    report.error("line 9", "not JSON")
    assert report.problems() == ("1 object was rejected and 2 parts of the input could not be read; each problem "
                                 "is listed above with where it is.")
    unreadable_only = ImportReport()
    unreadable_only.error("line 1", "not JSON")
    assert unreadable_only.problems().startswith("1 part of the input could not be read")
