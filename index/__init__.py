"""Newsbot engine: reads, indexes and quotes news articles."""
