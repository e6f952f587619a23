"""Writes test/fixtures/bleu/example.json: sacreBLEU's corpus BLEU on a small English->French
style example, for test/bleu.test.ts to match.

    <python with sacrebleu> scripts/make_bleu_fixture.py

The hypotheses are made-up machine translations of mixed quality (a perfect one, one with
no 4-gram match, a one-word one, an empty one, HTML entities, quotes, apostrophes, numbers
with commas, periods and hyphens); references are per segment (refs[i] lists hypothesis
i's references), the layout rnnkit's sacreBleu() takes. sacreBLEU takes streams, so the
script transposes them.
"""
import json
import os
import sys

import sacrebleu
from sacrebleu.metrics import BLEU
from sacrebleu.tokenizers.tokenizer_13a import Tokenizer13a

# (hypothesis, reference, second reference)
SEGMENTS = [
    ("Le chat est assis sur le tapis.",
     "Le chat est assis sur le tapis.",
     "Le chat s'est assis sur le tapis."),
    ("Il fait beau aujourd'hui.",
     "Il fait très beau aujourd'hui.",
     "Aujourd'hui, il fait beau."),
    ("L'homme qui marchait dans la rue s'arrêta pour regarder la vitrine.",
     "L'homme qui marchait dans la rue s'est arrêté pour regarder la vitrine.",
     "L'homme qui se promenait dans la rue s'arrêta devant la vitrine."),
    ("Nous avons acheté 3 kilos de pommes au marché.",
     "Nous avons acheté trois kilos de pommes au marché.",
     "Au marché, nous avons acheté 3 kg de pommes."),
    ("Je ne sais pas ce qu'il veut dire.",
     "Je ne sais pas ce qu'il veut dire.",
     "Je ne comprends pas ce qu'il veut dire."),
    ("Le train de 8h15 a vingt minutes de retard.",
     "Le train de 8 h 15 est en retard de vingt minutes.",
     "Le train de 8h15 a du retard."),
    ("\"Où vas-tu?\" elle a demandé.",
     "« Où vas-tu ? » demanda-t-elle.",
     "\"Où vas-tu ?\" a-t-elle demandé."),
    ("Le prix a augmenté de 3,5% l'an dernier.",
     "Le prix a augmenté de 3,5 % l'année dernière.",
     "L'an dernier, le prix a grimpé de 3,5 %."),
    ("Oui.",
     "Oui.",
     "Oui, bien sûr."),
    ("Merci.",
     "Merci beaucoup pour votre aide, c'était vraiment gentil.",
     "Merci infiniment de votre aide, c'est très gentil."),
    ("Kids play garden while parents cook dinner",
     "Les enfants jouent dans le jardin pendant que leurs parents préparent le dîner.",
     "Les enfants jouent au jardin tandis que les parents font à dîner."),
    ("Elle a lu le livre en une nuit.",
     "Elle a lu le livre en une seule nuit.",
     "Elle a lu ce livre en une nuit."),
    ("Pouvez-vous me dire le chemin pour la gare s'il vous plaît?",
     "Pouvez-vous m'indiquer le chemin de la gare, s'il vous plaît ?",
     "Pourriez-vous me montrer le chemin de la gare ?"),
    ("La réunion est reportée au jeudi suivant.",
     "La réunion a été reportée à jeudi prochain.",
     "La réunion est repoussée à jeudi prochain."),
    ("Il a perdu ses clés &amp; son portefeuille.",
     "Il a perdu ses clés & son portefeuille.",
     "Il a perdu ses clés et son portefeuille."),
    ("Le musée ouvre à 9 heures et ferme à 18 heures.",
     "Le musée ouvre ses portes à 9 heures et ferme à 18 heures.",
     "Le musée est ouvert de 9 h à 18 h."),
    ("Je pense donc je suis.",
     "Je pense, donc je suis.",
     "Je pense donc je suis."),
    ("C'est le meilleur film que j'ai vu cette année.",
     "Ce film est le meilleur que j'ai vu cette année.",
     "C'est le meilleur film de l'année."),
    ("Le gouvernement annonce nouvelles mesures contre pollution air.",
     "Le gouvernement a annoncé de nouvelles mesures pour lutter contre la pollution de l'air.",
     "Le gouvernement a annoncé des mesures contre la pollution de l'air."),
    ("Il y a 1 000 personnes dans la salle.",
     "Il y a 1.000 personnes dans la salle.",
     "La salle compte 1,000 personnes."),
    ("Ma sœur vit à Paris depuis 2015.",
     "Ma sœur habite à Paris depuis 2015.",
     "Ma sœur vit à Paris depuis 2015."),
    ("Attention: sol glissant!",
     "Attention : le sol est glissant !",
     "Attention, sol glissant !"),
    ("Les résultats seront publiés du 10 au 12 mai.",
     "Les résultats seront publiés entre le 10-12 mai.",
     "Les résultats paraîtront du 10 au 12 mai."),
    ("Il était une fois dans un pays lointain un roi très sage.",
     "Il était une fois, dans un pays lointain, un roi très sage.",
     "Il y avait autrefois, dans un pays lointain, un roi fort sage."),
    ("Que fais-tu ce week-end ?",
     "Qu'est-ce que tu fais ce week-end ?",
     "Que fais-tu ce week-end ?"),
    ("Le café est trop chaud pour être bu immédiatement.",
     "Le café est trop chaud pour être bu tout de suite.",
     "Le café est trop chaud pour le boire tout de suite."),
    ("",
     "Nous partirons demain matin à l'aube.",
     "Nous partirons demain à l'aube."),
    ("Le site www.exemple.fr est en panne.",
     "Le site web <www.exemple.fr> est en panne.",
     "Le site www.exemple.fr ne fonctionne pas."),
    ("Il a dit &quot;je reviendrai&quot;.",
     "Il a dit : \"Je reviendrai.\"",
     "Il a dit qu'il reviendrait."),
    ("La voiture rouge garée devant la maison appartient à mon voisin.",
     "La voiture rouge, garée devant la maison, appartient à mon voisin.",
     "La voiture rouge qui est garée devant la maison est à mon voisin."),
    ("Le le le le chien.",
     "Le chien aboie.",
     "Le chien aboie fort."),
]

# Segments of SEGMENTS for the smoothing cases: together they match no 3-gram or 4-gram.
SMOOTH_SUBSET = [9, 10, 21]
# Hypotheses shorter than 3 tokens: no 3-grams at all.
SHORT_SUBSET = [8, 9]

# Strings for the tokenizer alone.
TOKENIZER_STRINGS = [
    "Hello, world!", "3.14 and 1,000 and 5-6 and a-b", "end.", "U.S.A. is big.",
    "l'homme aujourd'hui", "\"quoted\" (parens) [brackets] {braces}", "a&amp;b &lt;tag&gt; &quot;q&quot; &amp;lt;",
    "<skipped> kept", "hyphen-\nated line\nbreak", "trailing dash-\n", "tabs\tand  spaces  ", "x,y.z 1.a a.1 ,5 5,",
    "€100 £5 $3.50 50%", "«guillemets» — dash – en", "emoji 😀. ok", "a\x1cb\x85c\ufeffd", "caf\u00e9 na\u0131ve ÉTÉ",
    "email me@x.org, http://a.b/c?d=e&f=g", "back`tick ~tilde^ |pipe| _under_ \\slash", "-1.5e-3 -- 10-20-30",
    "", "   ", ".", "...", "a..b", "2,3.4,5", "foo/bar:baz;qux?",
]


def score(hyps, refs_per_segment, **kwargs):
    num_refs = max(len(r) for r in refs_per_segment)
    streams = [[r[k] for r in refs_per_segment] for k in range(num_refs)]
    s = BLEU(**kwargs).corpus_score(hyps, streams) if kwargs else sacrebleu.corpus_bleu(hyps, streams)
    return {"score": s.score, "precisions": list(s.precisions), "counts": list(s.counts), "totals": list(s.totals),
            "bp": s.bp, "sys_len": s.sys_len, "ref_len": s.ref_len}


def case(name, indices, refs_used, options):
    hyps = [SEGMENTS[i][0] for i in indices]
    refs = [[SEGMENTS[i][1 + k] for k in range(refs_used)] for i in indices]
    return {"name": name, "options": options, "segments": indices, "num_refs": refs_used,
            "result": score(hyps, refs, **options)}


def main():
    all_ix = list(range(len(SEGMENTS)))
    cases = [
        case("default", all_ix, 1, {}),
        case("tokenize-none", all_ix, 1, {"tokenize": "none"}),
        case("lowercase", all_ix, 1, {"lowercase": True}),
        case("two-references", all_ix, 2, {}),
    ]
    for method in ["exp", "none", "floor", "add-k"]:
        cases.append(case(f"smooth-{method}", SMOOTH_SUBSET, 1, {"smooth_method": method}))
    cases.append(case("smooth-floor-0.5", SMOOTH_SUBSET, 1, {"smooth_method": "floor", "smooth_value": 0.5}))
    cases.append(case("effective-order", SMOOTH_SUBSET, 1, {"effective_order": True}))
    cases.append(case("short", SHORT_SUBSET, 1, {}))
    cases.append(case("short-effective-order", SHORT_SUBSET, 1, {"effective_order": True}))
    cases.append(case("max-order-2", all_ix, 1, {"max_ngram_order": 2}))
    # sacreBleu()'s default must be corpus_bleu's default: check they are the same here
    assert cases[0]["result"]["score"] == sacrebleu.corpus_bleu(
        [s[0] for s in SEGMENTS], [[s[1] for s in SEGMENTS]]).score

    tok = Tokenizer13a()
    out = {
        "generator": "scripts/make_bleu_fixture.py",
        "sacrebleu_version": sacrebleu.__version__,
        "python_version": sys.version.split()[0],
        "hypotheses": [s[0] for s in SEGMENTS],
        "references": [[s[1], s[2]] for s in SEGMENTS],
        "cases": cases,
        # what BLEU sees: the segment stripped on the right, tokenized, split on whitespace
        "tokenizer_13a": [{"text": t, "tokens": tok(t.rstrip()).split()} for t in TOKENIZER_STRINGS],
    }
    path = os.path.join(os.path.dirname(__file__), "..", "test", "fixtures", "bleu", "example.json")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        json.dump(out, f, ensure_ascii=True, indent=1)
        f.write("\n")
    for c in cases:
        r = c["result"]
        print(f"{c['name']:22s} BLEU {r['score']:.6f}  bp {r['bp']:.4f}  {r['sys_len']}/{r['ref_len']}")


if __name__ == "__main__":
    main()
