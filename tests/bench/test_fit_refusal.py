"""The refusal fit leaves out the news questions the reranker trained on (their logits are in-sample)."""

import json

from index.features.evaluate import load_questions
from tests.conftest import ROOT


def test_trained_ids_are_the_questions_train_reranker_trains_on(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(ROOT / "bench"))
    import fit_refusal
    from train_reranker import split_unanswerable

    for part in ("a", "b"):  # two files, as bench/data holds one per section and round
        lines = [
            {"id": f"{part}{i}", "question": f"q {i}", "answers": ["x"], "article": f"{part}/{i % 6}"}
            for i in range(12)
        ] + [
            {"id": f"{part}-none{i}", "question": f"{part} none {i}", "answers": [], "article": None}
            for i in range(6)
        ]
        (tmp_path / f"news-train-{part}.jsonl").write_text("\n".join(json.dumps(q) for q in lines))
    pattern = str(tmp_path / "news-train-*.jsonl")
    skip = fit_refusal.trained_ids(pattern)
    # articles a/0..a/5, b/0..b/5 sorted; every 5th (a/0, a/5, b/4) is kept back from training
    held = (("a", 0), ("a", 5), ("b", 4))
    kept_back = {f"{part}{i}" for part, article in held for i in (article, article + 6)}
    answerable = {f"{part}{i}" for part in "ab" for i in range(12)}
    unanswerable = [
        q for p in sorted(tmp_path.glob("news-train-*.jsonl")) for q in load_questions(p) if not q.answers
    ]
    trains, stays = split_unanswerable(unanswerable)
    assert trains and stays  # the half --unanswerable may train on is left out, the other half fits
    assert skip == (answerable - kept_back) | {q.id for q in trains}


def test_folds_keep_each_article_s_questions_together(monkeypatch):
    monkeypatch.syspath_prepend(str(ROOT / "bench"))
    import fit_refusal

    articles = [f"sport/{i % 7:03d}" for i in range(40)] + [f"none-{i}" for i in range(10)]
    fold = fit_refusal.folds_by_article(articles, 5)
    for article in set(articles):
        assert len({int(f) for a, f in zip(articles, fold, strict=True) if a == article}) == 1
    assert len(set(fold.tolist())) > 1  # and the articles spread over folds
