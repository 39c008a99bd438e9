package content

// ExportRecord is the machine-readable view of a record (`backstory export
// --format json`): what other tools build on. Its JSON shape is stable.
type ExportRecord struct {
	Repo         string   `json:"repo"`
	Path         string   `json:"path"`
	ID           string   `json:"id"`
	Kind         Kind     `json:"kind"`
	Title        string   `json:"title"`
	Status       Status   `json:"status"`
	StatusRaw    string   `json:"status_raw"`
	Date         string   `json:"date"`
	Number       int      `json:"number"`
	Deciders     []string `json:"deciders"`
	Tags         []string `json:"tags"`
	Supersedes   []string `json:"supersedes"`
	SupersededBy []string `json:"superseded_by"`
	Amends       []string `json:"amends"`
	AmendedBy    []string `json:"amended_by"`
	RelatesTo    []string `json:"relates_to"`
	Values       []string `json:"values"`
	Governs      []string `json:"governs"`
	ReviewBy     string   `json:"review_by"`
	// Review is the outcome of the decision's review, null when the
	// record gives none.
	Review *ExportReview `json:"review"`
	// URL is the record's own page elsewhere (a merged pull request);
	// Touches are the files a change touched. Both are absent for records
	// read from files.
	URL     string   `json:"url,omitempty"`
	Touches []string `json:"touches,omitempty"`
	// Sections are the body's headings, in order.
	Sections []string  `json:"sections"`
	Problems []Problem `json:"problems"`
}

// ExportReview is the machine-readable view of a review's outcome.
type ExportReview struct {
	Outcome    Outcome `json:"outcome"`
	OutcomeRaw string  `json:"outcome_raw"`
	Date       string  `json:"date"`
	Notes      string  `json:"notes"`
}

// Export returns the record's export view. Relations are derived from both
// sides and given as record paths (relative to the record's repository
// root; "owner/repo:path" for another repository); a reference that
// resolves to nothing is given as written. c may be nil: references are then
// given as written.
func (r *Record) Export(c *Corpus) ExportRecord {
	e := ExportRecord{
		Repo: r.Repo, Path: r.Path, ID: r.ID, Kind: r.Kind, Title: r.Title,
		Status: r.Status, StatusRaw: r.StatusRaw, Date: r.Date.String(), Number: r.Number,
		Deciders: nonNil(r.Deciders), Tags: nonNil(r.Tags), Values: nonNil(r.Values), Governs: nonNil(r.Governs),
		ReviewBy: r.ReviewBy.String(), URL: r.URL, Touches: r.Touches, Sections: make([]string, 0, len(r.Sections)), Problems: r.Problems,
	}
	for _, sec := range r.Sections {
		e.Sections = append(e.Sections, sec.Heading)
	}
	if rv := r.Review; rv != nil {
		e.Review = &ExportReview{Outcome: rv.Outcome, OutcomeRaw: rv.OutcomeRaw, Date: rv.Date.String(), Notes: rv.Notes}
	}
	if e.Problems == nil {
		e.Problems = []Problem{}
	}
	if c == nil {
		e.Supersedes, e.SupersededBy = nonNil(r.Supersedes), nonNil(r.SupersededBy)
		e.Amends, e.AmendedBy, e.RelatesTo = nonNil(r.Amends), nonNil(r.AmendedBy), nonNil(r.RelatesTo)
		return e
	}
	e.Supersedes = c.exportRefs(r, c.Supersedes(r), r.Supersedes)
	e.SupersededBy = c.exportRefs(r, c.SupersededBy(r), r.SupersededBy)
	e.Amends = c.exportRefs(r, c.Amends(r), r.Amends)
	e.AmendedBy = c.exportRefs(r, c.AmendedBy(r), r.AmendedBy)
	e.RelatesTo = c.exportRefs(r, c.RelatesTo(r), r.RelatesTo)
	return e
}

// exportRefs lists resolved records as paths, then the written references
// that resolve to nothing.
func (c *Corpus) exportRefs(from *Record, resolved []*Record, written []string) []string {
	out := []string{}
	for _, t := range resolved {
		if t.Repo == from.Repo {
			out = append(out, t.Path)
		} else {
			out = append(out, t.Repo+":"+t.Path)
		}
	}
	for _, ref := range written {
		if c.Resolve(ref, from) == nil {
			out = append(out, ref)
		}
	}
	return out
}

// Export returns the export view of every record, in corpus order.
func (c *Corpus) Export() []ExportRecord {
	out := make([]ExportRecord, 0, len(c.Records))
	for _, r := range c.Records {
		out = append(out, r.Export(c))
	}
	return out
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
