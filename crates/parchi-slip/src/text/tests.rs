use super::*;

fn gids(line: &ShapedLine) -> Vec<u16> {
    line.runs
        .iter()
        .flat_map(|r| r.glyphs.iter().map(|g| g.gid))
        .collect()
}

#[test]
fn mixed_text_splits_into_script_runs() {
    let runs = script_runs("Name / नाम / নাম 12");
    let scripts: Vec<Script> = runs.iter().map(|r| r.0).collect();
    assert_eq!(
        scripts,
        vec![Script::Latin, Script::Devanagari, Script::Bengali]
    );
    assert_eq!(runs[0].1, "Name / ");
    assert_eq!(runs[2].1, "নাম 12");
}

#[test]
fn devanagari_conjunct_shapes_to_fewer_glyphs_than_characters() {
    // क्ष is three characters (क, ्, ष) drawn as one conjunct glyph: no visible halant.
    let line = shape("क्ष", 10.0, false).expect("shape");
    assert_eq!(gids(&line).len(), 1, "क्ष must be a single conjunct glyph");
}

#[test]
fn devanagari_i_matra_is_placed_before_its_consonant() {
    // In "कि" the vowel sign ि (U+093F) follows क in memory but is drawn to its left.
    let line = shape("कि", 10.0, false).expect("shape");
    let face = face(FontKind::Devanagari).expect("face");
    let ka = face.glyph_index('क').expect("ka").0;
    let g = &line.runs[0].glyphs;
    assert_eq!(g.len(), 2);
    assert_eq!(
        g[1].gid, ka,
        "the consonant must come second, after the matra"
    );
}

#[test]
fn bengali_o_sign_is_split_around_its_consonant() {
    // টো: the vowel sign ো (U+09CB) is drawn as ে before and া after the consonant.
    let line = shape("টো", 10.0, false).expect("shape");
    let face = face(FontKind::Bengali).expect("face");
    let tta = face.glyph_index('ট').expect("tta").0;
    let g = &line.runs[0].glyphs;
    assert_eq!(g.len(), 3, "ো must decompose into two glyphs around ট");
    assert_eq!(g[1].gid, tta);
    assert!(g[0].x < g[1].x && g[1].x < g[2].x);
}

#[test]
fn reph_becomes_a_mark_not_a_halant() {
    // र्म: the reph is a mark above म, so two characters (र, ्) vanish into one glyph.
    let line = shape("कर्म", 10.0, false).expect("shape");
    assert_eq!(gids(&line).len(), 3, "क + म + reph");
}

#[test]
fn wrap_breaks_at_spaces_and_marks_truncation() {
    let text = "one two three four five six seven eight nine ten";
    let lines = wrap(text, 10.0, false, 60.0, 2).expect("wrap");
    assert_eq!(lines.len(), 2);
    assert!(lines[1].text.ends_with('…'));
    assert!(lines.iter().all(|l| l.width_pt <= 60.0));
}

#[test]
fn an_overlong_word_is_cut_between_syllables_and_fits() {
    let lines = wrap("Subrahmanyeswaraswamy Rao", 10.0, false, 50.0, 3).expect("wrap");
    assert!(lines.iter().all(|l| l.width_pt <= 50.0));
    let joined: String = lines.iter().map(|l| l.text.as_str()).collect();
    assert_eq!(joined.replace(' ', ""), "SubrahmanyeswaraswamyRao");
    let lines = wrap("चट्टोपाध्यायमुखोपाध्याय", 10.0, false, 40.0, 3).expect("wrap");
    assert!(lines.iter().all(|l| l.width_pt <= 40.0));
    for l in &lines {
        let first = l.text.chars().next().expect("non-empty");
        assert!(
            !continues_syllable(first),
            "a line starts inside a syllable"
        );
    }
}

#[test]
fn unsupported_script_is_reported_with_its_field() {
    let err = check_drawable("patient_name", "தமிழ்").expect_err("Tamil is not drawn");
    assert_eq!(
        err,
        SlipError::UnsupportedCharacter {
            field: "patient_name",
            codepoint: 0x0BA4
        }
    );
    assert!(check_drawable("patient_name", "प्रिया शर्मा").is_ok());
    assert!(check_drawable("patient_name", "সৌমিত্র চট্টোপাধ্যায়").is_ok());
}
