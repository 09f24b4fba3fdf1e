#!/usr/bin/env python3
"""Unit test of bench/eval.py's scoring: python3 tests/eval/test_score.py"""
import sys
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent.parent / "bench"))
import eval as ev  # noqa: E402


def r(cls, placement, encoding):
    return {"class": cls, "placement": placement, "encoding": encoding}


class Score(unittest.TestCase):
    def test_counts_per_dimension(self):
        s = ev.score([(r("sqli", "query", "plain"), True), (r("sqli", "json", "url"), False),
                      (r("xss", "query", "url"), True)])
        self.assertEqual(s["class"]["sqli"], [1, 2])
        self.assertEqual(s["class"]["xss"], [1, 1])
        self.assertEqual(s["placement"]["query"], [2, 2])
        self.assertEqual(s["encoding"]["url"], [1, 2])
        self.assertEqual(s["all"]["all"], [2, 3])
        self.assertAlmostEqual(ev.pct(s["class"]["sqli"]), 50.0)

    def test_only_refusals_count_as_blocked(self):
        self.assertTrue(ev.blocked(403))
        self.assertTrue(ev.blocked(400))
        self.assertFalse(ev.blocked(200))
        self.assertFalse(ev.blocked(0))
        self.assertFalse(ev.blocked(502))


if __name__ == "__main__":
    unittest.main()
