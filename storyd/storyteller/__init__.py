"""The offline storyteller: a seeded story grammar, word banks and English/German templates."""
