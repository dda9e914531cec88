"""Read-side query functions (HackSoft selectors): querysets and plain data, no writes."""
