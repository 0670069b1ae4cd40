import unittest

from greeting import greet, render_page


class GreetingTest(unittest.TestCase):
    def test_greets_by_name(self):
        self.assertEqual(greet("Ada"), "Hello, Ada!")

    def test_empty_name_greets_the_world(self):
        self.assertEqual(greet("  "), "Hello, world!")

    def test_page_shows_the_greeting(self):
        self.assertIn("Hello, learner!", render_page())
