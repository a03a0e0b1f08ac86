from parkos.wording import with_article


def test_messages_say_an_before_a_vowel_and_a_before_anything_else():
    assert [with_article(word) for word in ("active", "offboarded", "admin", "ord_", "pending", "tenant", "")] == [
        "an active", "an offboarded", "an admin", "an ord_", "a pending", "a tenant", "a "]
