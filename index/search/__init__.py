"""A question's stages: its query terms and cues, candidate stories, evidence, the reranker and the
chosen quotes."""
