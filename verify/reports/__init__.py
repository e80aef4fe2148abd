"""Reports: the terminal table and JSON, the LaTeX appendix, the HTML page. A reporter reads study outputs and never runs a study."""
