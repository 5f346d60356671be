//! The scoring rules, one behaviour per test: what must be proposed for merging and what must
//! never be.

use parchi_dedup::{
    Candidate, Config, GuardianRelation, Reason, Record, Sex, Verdict, compare_pair,
    find_duplicates,
};

/// A registration in Patna with the fields most tests vary.
fn reg(
    key: u32,
    name: &str,
    sex: Sex,
    birth_year: i32,
    guardian: &str,
    mobile: &str,
) -> Record<u32> {
    Record {
        key,
        name: name.into(),
        sex: Some(sex),
        birth_year: Some(birth_year),
        birth_approximate: true,
        guardian_relation: Some(match sex {
            Sex::Female => GuardianRelation::DaughterOf,
            _ => GuardianRelation::SonOf,
        }),
        guardian_name: (!guardian.is_empty()).then(|| guardian.into()),
        mobile: (!mobile.is_empty()).then(|| mobile.into()),
        address: Some("H.No. 12, Gandhi Nagar".into()),
        district: Some("Patna".into()),
        state: Some("Bihar".into()),
        pincode: Some("800020".into()),
        abha: None,
    }
}

const M: Sex = Sex::Male;
const F: Sex = Sex::Female;

fn pair_of(cands: &[Candidate<u32>], a: u32, b: u32) -> Option<&Candidate<u32>> {
    cands
        .iter()
        .find(|c| (c.a, c.b) == (a, b) || (c.a, c.b) == (b, a))
}

fn assert_likely(a: &Record<u32>, b: &Record<u32>) -> Candidate<u32> {
    let cands = find_duplicates(&[a.clone(), b.clone()], &Config::default());
    let c = pair_of(&cands, a.key, b.key)
        .unwrap_or_else(|| panic!("{} / {}: not found", a.name, b.name))
        .clone();
    assert_eq!(c.verdict, Verdict::Likely, "{} / {}: {c:?}", a.name, b.name);
    c
}

fn assert_not_likely(records: &[Record<u32>], a: u32, b: u32) -> Option<Candidate<u32>> {
    let cands = find_duplicates(records, &Config::default());
    let c = pair_of(&cands, a, b).cloned();
    if let Some(c) = &c {
        assert_eq!(c.verdict, Verdict::Review, "{a} / {b} proposed: {c:?}");
    }
    c
}

#[test]
fn mohd_md_and_mohammad_are_one_person() {
    let a = reg(
        1,
        "Mohammad Irfan Ansari",
        M,
        1975,
        "Abdul Karim Ansari",
        "9876543210",
    );
    for (k, v) in [
        "Mohd. Irfan Ansari",
        "Md Irfan Ansari",
        "Mohammed Irfan Ansari",
    ]
    .into_iter()
    .enumerate()
    {
        let b = reg(2 + k as u32, v, M, 1976, "Abdul Karim Ansari", "");
        assert_likely(&a, &b);
    }
}

#[test]
fn kr_and_kumar_are_one_person() {
    let a = reg(1, "Ram Kr Yadav", M, 1980, "Shyam Lal Yadav", "9876543210");
    let b = reg(
        2,
        "Ram Kumar Yadav",
        M,
        1980,
        "Shyam Lal Yadav",
        "9123456780",
    );
    let c = assert_likely(&a, &b);
    assert!(c.reasons.contains(&Reason::SameName), "{c:?}");
    let a = reg(3, "Tanmayi Kumari Mitra", F, 1950, "Zehaan Mitra", "");
    let b = reg(4, "Tanmayi Kr Mitra", F, 1948, "Zehaan Mitra", "");
    assert_likely(&a, &b);
}

#[test]
fn initials_stand_for_the_full_name() {
    let a = reg(1, "R. K. Sharma", M, 1966, "Gopal Sharma", "9876543210");
    let b = reg(2, "Ram Kumar Sharma", M, 1966, "Gopal Sharma", "9876543210");
    let c = assert_likely(&a, &b);
    assert!(c.reasons.contains(&Reason::InitialMatches), "{c:?}");
    let a = reg(3, "P. Shere", F, 1946, "Naveen Shere", "6304045660");
    let b = reg(4, "Pallavi Shere", F, 1946, "Naveen Shere", "6304045660");
    assert_likely(&a, &b);
}

#[test]
fn typos_dropped_vowels_and_doubled_letters_are_one_person() {
    for (x, y) in [
        ("Krishna Kumar Sachar", "Krshna Kuamr Schar"),
        ("Pallavi Devi Mammen", "Pallavi Devi Mmmen"),
        ("Brinda Sani", "Brinnda Sani"),
        ("Anirudh Pal", "Aiirudh Pal"),
        ("Suneeta Devi", "Sunita Devi"),
        ("Lakshmi Paswan", "Laxmi Paswan"),
    ] {
        let a = reg(
            1,
            x,
            if x.contains("Devi") || x.contains("Lak") || x.starts_with('B') {
                F
            } else {
                M
            },
            1970,
            "Mohan Lal",
            "9876543210",
        );
        let b = Record {
            key: 2,
            name: y.into(),
            mobile: None,
            ..a.clone()
        };
        let c = assert_likely(&a, &b);
        assert!(
            c.reasons
                .iter()
                .any(|r| matches!(r, Reason::NameSimilar { .. } | Reason::SameName)),
            "{x} / {y}: {c:?}"
        );
    }
}

#[test]
fn devanagari_and_latin_spellings_are_one_person() {
    let a = reg(1, "सुनीता देवी", F, 1985, "रमेश यादव", "9876543210");
    let b = reg(2, "Sunita Devi", F, 1984, "Ramesh Yadav", "9876543210");
    assert_likely(&a, &b);
}

#[test]
fn father_and_son_sharing_a_mobile_are_not_merged() {
    let father = reg(1, "Ramesh Sharma", M, 1965, "Gopal Sharma", "9876543210");
    let son = reg(2, "Suresh Sharma", M, 1992, "Ramesh Sharma", "9876543210");
    assert_not_likely(&[father.clone(), son], 1, 2);
    // A son named after his father: same name, same phone, same house.
    let junior = reg(3, "Ramesh Sharma", M, 1990, "Ramesh Sharma", "9876543210");
    let c = assert_not_likely(&[father, junior], 1, 3);
    if let Some(c) = c {
        assert!(
            c.reasons.iter().any(|r| matches!(
                r,
                Reason::GuardianIsOther | Reason::AgeBeyondTolerance { .. }
            )),
            "{c:?}"
        );
    }
}

#[test]
fn husband_and_wife_or_mother_and_daughter_are_not_merged() {
    let husband = reg(1, "Sunil Kumar", M, 1980, "Raju Prasad", "9876543210");
    let wife = Record {
        guardian_relation: Some(GuardianRelation::WifeOf),
        ..reg(2, "Sunita Devi", F, 1983, "Sunil Kumar", "9876543210")
    };
    let daughter = reg(3, "Sonal Kumari", F, 2005, "Sunil Kumar", "9876543210");
    let family = [husband, wife, daughter];
    let cands = find_duplicates(&family, &Config::default());
    assert!(
        cands.iter().all(|c| c.verdict != Verdict::Likely),
        "{cands:?}"
    );
}

#[test]
fn twins_are_not_merged() {
    for (x, y) in [
        ("Luv Kumar", "Kush Kumar"),
        ("Sonu Yadav", "Monu Yadav"),
        ("Pinki Devi", "Rinki Devi"),
    ] {
        let sex = if x.contains("Devi") { F } else { M };
        let a = reg(1, x, sex, 2012, "Ramesh Yadav", "9876543210");
        let b = reg(2, y, sex, 2012, "Ramesh Yadav", "9876543210");
        assert_not_likely(&[a, b], 1, 2);
    }
}

#[test]
fn brothers_with_names_one_letter_apart_are_not_merged() {
    let a = reg(1, "Ramesh Sharma", M, 1990, "Gopal Sharma", "9876543210");
    let b = reg(2, "Rakesh Sharma", M, 1992, "Gopal Sharma", "9876543210");
    assert_not_likely(&[a, b], 1, 2);
}

#[test]
fn an_initial_that_fits_two_brothers_is_held_for_review() {
    let initial = reg(1, "R. Sharma", M, 1991, "Gopal Sharma", "9876543210");
    let ramesh = reg(2, "Ramesh Sharma", M, 1990, "Gopal Sharma", "9876543210");
    let rakesh = reg(3, "Rakesh Sharma", M, 1992, "Gopal Sharma", "9876543210");
    let cands = find_duplicates(&[initial, ramesh, rakesh], &Config::default());
    assert!(
        cands.iter().all(|c| c.verdict != Verdict::Likely),
        "{cands:?}"
    );
    let c = pair_of(&cands, 1, 2).expect("the initial is still offered for review");
    assert!(c.reasons.contains(&Reason::AmbiguousMatch), "{c:?}");
}

#[test]
fn namesakes_are_not_merged() {
    // Same common name, different father, age, phone and house.
    let a = reg(1, "Mohammad Salim", M, 1960, "Abdul Karim", "9876543210");
    let b = Record {
        address: Some("H.No. 77, Subzi Bagh".into()),
        pincode: Some("800004".into()),
        ..reg(2, "Mohammad Salim", M, 1985, "Rashid Khan", "9123456780")
    };
    let cands = find_duplicates(&[a.clone(), b], &Config::default());
    assert!(pair_of(&cands, 1, 2).is_none(), "{cands:?}");
    // Same name and age too, but another father and another house.
    let c = Record {
        address: Some("H.No. 77, Subzi Bagh".into()),
        pincode: Some("800004".into()),
        ..reg(3, "Mohammad Salim", M, 1961, "Rashid Khan", "")
    };
    assert_not_likely(&[a, c], 1, 3);
}

#[test]
fn a_shared_clinic_phone_says_little() {
    let clinic = "9000000001";
    let mut records: Vec<Record<u32>> = (0..30)
        .map(|i| {
            let name = format!(
                "{} {}",
                ["Asha", "Usha", "Nisha", "Disha", "Rekha"][i % 5],
                ["Verma", "Gupta", "Jha"][i % 3]
            );
            Record {
                address: Some(format!("{} Station Road", 100 + i)),
                ..reg(
                    i as u32,
                    &name,
                    F,
                    1950 + i as i32 * 2,
                    &format!("Guardian{i} Singh"),
                    clinic,
                )
            }
        })
        .collect();
    // One real duplicate among them, also on the clinic's phone.
    records.push(Record {
        key: 100,
        ..records[0].clone()
    });
    let cands = find_duplicates(&records, &Config::default());
    let dup = pair_of(&cands, 0, 100).expect("the duplicate is found by name");
    assert!(
        dup.reasons
            .iter()
            .any(|r| matches!(r, Reason::CommonMobile { .. })),
        "{dup:?}"
    );
    let others = cands
        .iter()
        .filter(|c| c.verdict == Verdict::Likely && c.b != 100 && c.a != 100);
    assert_eq!(others.count(), 0, "{cands:?}");
}

#[test]
fn abha_numbers_decide_when_present() {
    let mut a = reg(1, "Sunita Devi", F, 1980, "", "");
    let mut b = reg(2, "Suneeta Devi", F, 1981, "", "");
    a.abha = Some("91-1234-5678-9012".into());
    b.abha = Some("91123456789012".into());
    let c = assert_likely(&a, &b);
    assert_eq!(c.reasons.first(), Some(&Reason::SameAbha));
    b.abha = Some("91-9999-5678-9012".into());
    let c = compare_pair(&a, &b, &Config::default());
    assert_eq!(c.verdict, Verdict::Review);
    assert!(c.reasons.contains(&Reason::DifferentAbha));
}

#[test]
fn a_guessed_age_far_off_goes_to_review_not_merge() {
    let a = reg(1, "Gaurav Sen", M, 1979, "Lalan Sen", "7232930341");
    let b = reg(2, "Gaurav Sen", M, 1986, "Lalan Sen", "7232930341");
    let c = compare_pair(&a, &b, &Config::default());
    assert_eq!(c.verdict, Verdict::Review, "{c:?}");
    assert!(c.reasons.contains(&Reason::AgeBeyondTolerance { years: 7 }));
}

#[test]
fn reasons_read_as_an_admin_would_say_them() {
    let a = reg(1, "Krish Lad", M, 1981, "Samesh Lad", "8510520954");
    let b = reg(2, "Krih Lad", M, 1982, "Samesh Lad", "8510520954");
    let c = assert_likely(&a, &b);
    let text: Vec<String> = c.reasons.iter().map(ToString::to_string).collect();
    assert!(text.contains(&"same mobile".to_string()), "{text:?}");
    assert!(
        text.iter().any(|t| t.starts_with("name similar (0.")),
        "{text:?}"
    );
    assert!(text.contains(&"same guardian".to_string()), "{text:?}");
    assert!(
        text.contains(&"age differs by 1 year".to_string()),
        "{text:?}"
    );
    assert!(text.contains(&"same PIN".to_string()), "{text:?}");
}
