// Package check is the context-check rule engine of the backstory App and
// of `backstory check`: a pull request, a configuration and a corpus of
// records in, a Verdict out. It is pure: no GitHub types, no network, no
// clock (the caller passes Now), and the same input always renders the same
// output, sorted, so the App can skip writing a check run that has not
// changed.
//
// # What a pull request needs
//
// Skips come first, in this order: a skip label (Config.Skip.Labels,
// compared without case), an author matching Skip.Authors, a bot author
// with Skip.Bots, a draft with Skip.Drafts. A skipped pull request passes;
// the title says why. A waiver (the "Not needed" button) also passes, and
// the summary says who waived it and when. Both still list the governing
// decisions and any problem found, for information.
//
// Otherwise the need is the highest Need of the rules that match, or
// Config.Default when none does. A rule's conditions are AND-ed: Paths (any
// changed file, or the old path of a renamed one, matches any glob),
// MinLines (additions plus deletions), MinFiles, Labels (any), Authors (any
// login glob). Files matching Config.Ignore are left out of Paths, MinLines
// and MinFiles; a pull request whose every changed file is ignored needs
// nothing. With no file list at all (a CLI run given none), path and size
// conditions cannot match and label and author rules still can. Because
// the highest need wins, a rule can lower the need below the default only
// when it is the only rule that matches; a paths rule that lowers it is
// therefore reported as a warning ("docs/** needs nothing" also matches a
// pull request that changes code and docs): ignore is the tool for "changes
// only to these files need nothing".
//
// Needs are ordered: a linked decision meets an intent need too.
//
// # Intent
//
// An intent is a section of the body under a heading named in
// Intent.Headings: ATX (## Why) or setext, any level, or a line that is
// only bold text (**Why**), compared without case or surrounding
// punctuation ("## Why?", "**Why:**"), and also when the heading starts
// with the configured words ("## Motivation and Context"). The section runs
// to the next heading of the same or a higher level (a bold line: to the
// next heading or bold line). What does not count: HTML comments, lines
// that are in the repository's pull request template (list markers and
// task boxes aside, so a template checklist does not count whether ticked
// or not), a <placeholder> that is a whole line or list item (inside a
// sentence, Vec<u8> is words), HTML tags, the prompts of the snippet the
// check suggests, "_No response_", lines starting with TODO, TBD or FIXME,
// and those words anywhere. At least Intent.MinWords words must
// remain in one section (the best one counts; a word is a run of letters
// or digits, and each Chinese or Japanese character is one). A pull request
// that adds or changes an intent record also has its intent.
//
// # Decisions and references
//
// A decision need is met by a reference in the title or body that resolves
// to a decision record, in the corpus or among the records the pull request
// adds or changes (which win: they are the head's version), or by the pull
// request adding or changing a decision record. References are found
// outside HTML comments, fenced code and template lines: ids in the
// repository's pattern (ADR-12, ADR-0012, #ADR-12, "ADR 12" in capitals),
// owner/repo#ADR-12 and owner/repo:ADR-0012, GitHub blob links and relative
// paths to markdown files in record folders, and links to record pages on
// the site (with Input.SiteURL). One that resolves to nothing is listed as
// "does not exist" with the nearest numbers that do, and the check does not
// pass. A reference into a repository the corpus does not hold cannot be
// checked: it is listed as such and neither fails nor counts.
//
// # Governing decisions
//
// For every changed file that is not removed, the decisions of the same
// repository whose governs globs match the file (content.GovernIndex,
// GoverningFile: files are not treated as folders) are listed in the
// summary, decision by decision (those that no longer hold first, then
// newest first; the text lists them file by file only when the summary's
// table could not name every file). Annotations mark every file governed
// by a decision that is superseded or deprecated (a warning, naming its
// successor) and the first changed file of each other decision (a
// notice). An annotation sits on the first line the patch adds (line 1
// without a patch). At most MaxAnnotations are made; the text says when
// more files were worth one.
//
// # Numbering collisions
//
// A record the pull request adds (its path is not a record on the default
// branch) whose number is already used in the same folder, by a record on
// the default branch that the pull request does not remove or rename, by
// another open pull request (at another path), or by another record of the
// same pull request, is a collision: git would merge both silently. The
// verdict names who has the number, the next free one in the folder (one
// past the highest on the default branch, in open pull requests and in this
// one) and the git mv that fixes it.
//
// # Conclusion
//
// Configuration errors fail the check whatever else holds (never a silent
// pass): the title says so and the summary lists them first, and the rest
// of the check runs with the defaults for the broken parts. Otherwise a
// skipped or waived pull request passes; one whose need is met with no
// missing reference and no collision passes; anything else fails in
// enforce mode and is neutral in advise mode, with the "Not needed" button
// and a line naming it and the first skip label (the label only with
// Input.Local, as `backstory check` has no button).
//
// # Links
//
// Records link to their page on the site (Input.SiteURL), else to their
// file on the host their repository's SourceURL names; records the pull
// request adds or changes link to its head commit there. With neither
// known, a record is named without a link.
package check
