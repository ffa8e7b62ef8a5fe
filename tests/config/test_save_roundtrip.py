"""ConfigDocument keeps a file byte for byte where no edit touches it (comments under a header included)."""

from config.paths import default_config_text
from config.save import ConfigDocument


def test_untouched_text_round_trips_exactly() -> None:
    text = default_config_text()
    assert ConfigDocument(text).text == text


def test_comment_under_a_header_stays_above_its_key() -> None:
    text = '[router]\n# why default is this\ndefault = "a"\nthink = ""\n\n[[models]]\nname = "a"\n'
    doc = ConfigDocument(text)
    assert doc.text == text
    doc.set_value("router", "think", "a")
    assert doc.text.startswith('[router]\n# why default is this\ndefault = "a"\nthink = "a"\n')
