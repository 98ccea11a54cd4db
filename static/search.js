// Placeholder replaced by the search work; keeps the page valid until then.
