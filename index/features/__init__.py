"""What is built on the engine: trends, standing queries, votes, saved questions and evaluation."""
