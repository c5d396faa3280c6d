"""Policy programmes run on top of the planner: each module reads its own rule table, adds the
requests the programme needs to a week's scenario and reports on the plans made from it."""
