//! The lab texts (`labs/labN.md`, compiled in): split into sections at `## ` headings and filled
//! in with the running lab's values (`{{port}}`, `{{user}}`, …), so the terminal shows exactly
//! the Markdown's steps.

/// The Markdown of each lab, by number.
pub const LABS: [&str; 7] = [
    include_str!("../lab0.md"),
    include_str!("../lab1.md"),
    include_str!("../lab2.md"),
    include_str!("../lab3.md"),
    include_str!("../lab4.md"),
    include_str!("../lab5.md"),
    include_str!("../lab6.md"),
];

/// Lab 7's Markdown (the capstone, outside the numbered labs).
pub const CAPSTONE: &str = include_str!("../lab7.md");

/// The Markdown of lab `n`.
pub fn markdown(n: u8) -> &'static str {
    if n == crate::lab::CAPSTONE {
        return CAPSTONE;
    }
    LABS.get(usize::from(n)).copied().unwrap_or_default()
}

/// One `## ` section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Section {
    /// The heading without `## `.
    pub heading: String,
    /// The lines under it, trimmed of blank lines at both ends.
    pub body: String,
}

/// A lab text split up.
#[derive(Debug, Clone)]
pub struct LabText {
    /// The `# ` title.
    pub title: String,
    /// Sections before the first step (goal, background).
    pub intro: Vec<Section>,
    /// The `## Step …` sections, in order.
    pub steps: Vec<Section>,
    /// Sections after the steps (questions, what would fix this).
    pub outro: Vec<Section>,
}

/// Splits `markdown` at `## ` headings outside code fences.
pub fn parse(markdown: &str) -> LabText {
    let mut title = String::new();
    let mut sections: Vec<Section> = Vec::new();
    let mut fenced = false;
    for line in markdown.lines() {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
        }
        if !fenced && let Some(t) = line.strip_prefix("# ") {
            title = t.trim().to_string();
            continue;
        }
        if !fenced && let Some(h) = line.strip_prefix("## ") {
            sections.push(Section {
                heading: h.trim().to_string(),
                body: String::new(),
            });
            continue;
        }
        if let Some(s) = sections.last_mut() {
            s.body.push_str(line);
            s.body.push('\n');
        }
    }
    for s in &mut sections {
        s.body = s.body.trim_matches('\n').to_string();
    }
    let is_step = |s: &Section| s.heading.starts_with("Step ");
    let first = sections.iter().position(is_step).unwrap_or(sections.len());
    let last = sections.iter().rposition(is_step).map_or(first, |i| i + 1);
    let outro = sections.split_off(last);
    let steps = sections.split_off(first);
    LabText {
        title,
        intro: sections,
        steps,
        outro,
    }
}

/// Replaces every `{{name}}` in `text` by its value; unknown names stay as they are.
pub fn fill(text: &str, vars: &[(&str, String)]) -> String {
    let mut out = text.to_string();
    for (name, value) in vars {
        out = out.replace(&format!("{{{{{name}}}}}"), value);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_lab_has_a_title_a_goal_steps_questions_and_a_fix() {
        for n in crate::lab::numbers() {
            let md = markdown(n);
            let t = parse(md);
            assert!(
                t.title.starts_with(&format!("Lab {n}")),
                "lab{n}: {}",
                t.title
            );
            assert!(t.intro.iter().any(|s| s.heading == "Goal"), "lab{n} goal");
            assert!(!t.steps.is_empty(), "lab{n} steps");
            assert!(t.outro.iter().any(|s| s.heading == "Questions"), "lab{n}");
            assert!(
                t.outro.iter().any(|s| s.heading == "What would fix this"),
                "lab{n}"
            );
        }
    }

    #[test]
    fn headings_inside_code_fences_are_text() {
        let t = parse(
            "# Lab 9\n## Goal\ng\n## Step 1: a\n```\n## not a heading\n```\n## Questions\nq\n",
        );
        assert_eq!(t.steps.len(), 1);
        assert!(t.steps[0].body.contains("## not a heading"));
        assert_eq!(t.outro[0].heading, "Questions");
    }

    #[test]
    fn fill_replaces_known_names_only() {
        let vars = [("port", "2121".to_string())];
        assert_eq!(fill("p={{port}} u={{user}}", &vars), "p=2121 u={{user}}");
    }
}
