"""The few GitHub REST calls the workflows' steps make: one comment per pull request and marker, edited
in place; one issue per title, opened, updated or closed. Standard library only (the steps run before
any install). $GITHUB_API_URL (set by Actions; a local fake in tests), $GITHUB_TOKEN, $GITHUB_REPOSITORY.
docs/ci.md "What is proven here, and what only GitHub can show".
"""

from __future__ import annotations

import json
import os
import urllib.request
from typing import Any


class GitHub:
    def __init__(self, repository: str | None = None, token: str | None = None, api: str | None = None):
        self.repository = repository or os.environ["GITHUB_REPOSITORY"]
        self.token = token or os.environ["GITHUB_TOKEN"]
        self.api = (api or os.environ.get("GITHUB_API_URL") or "https://api.github.com").rstrip("/")

    def request(self, method: str, path: str, body: dict | None = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            f"{self.api}{path}",
            data=data,
            method=method,
            headers={
                "Accept": "application/vnd.github+json",
                "Authorization": f"Bearer {self.token}",
                "X-GitHub-Api-Version": "2022-11-28",
                "Content-Type": "application/json",
            },
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            text = response.read().decode()
        return json.loads(text) if text else None

    def _pages(self, path: str) -> list[dict]:
        found: list[dict] = []
        page = 1
        while True:
            sep = "&" if "?" in path else "?"
            batch = self.request("GET", f"{path}{sep}per_page=100&page={page}")
            found.extend(batch)
            if len(batch) < 100:
                return found
            page += 1

    def upsert_comment(self, pr: int, marker: str, body: str) -> str:
        """Edit the PR's comment that carries `marker` (an HTML comment), else post it: 'updated'/'created'."""
        tag = f"<!-- {marker} -->"
        text = f"{tag}\n{body}"
        repo = f"/repos/{self.repository}"
        for comment in self._pages(f"{repo}/issues/{pr}/comments"):
            if tag in (comment.get("body") or ""):
                self.request("PATCH", f"{repo}/issues/comments/{comment['id']}", {"body": text})
                return "updated"
        self.request("POST", f"{repo}/issues/{pr}/comments", {"body": text})
        return "created"

    def open_issue(self, title: str, label: str) -> dict | None:
        for issue in self._pages(f"/repos/{self.repository}/issues?state=open&labels={label}"):
            if issue.get("title") == title and "pull_request" not in issue:
                return issue
        return None

    def upsert_issue(self, title: str, label: str, body: str) -> str:
        """Update the open issue with this title and label (body replaced, a comment added), else open one."""
        repo = f"/repos/{self.repository}"
        issue = self.open_issue(title, label)
        if issue:
            self.request("PATCH", f"{repo}/issues/{issue['number']}", {"body": body})
            self.request("POST", f"{repo}/issues/{issue['number']}/comments", {"body": "Still drifting:\n\n" + body})
            return "updated"
        self.request("POST", f"{repo}/issues", {"title": title, "body": body, "labels": [label]})
        return "opened"

    def close_issue(self, title: str, label: str, comment: str) -> str:
        repo = f"/repos/{self.repository}"
        issue = self.open_issue(title, label)
        if not issue:
            return "none"
        self.request("POST", f"{repo}/issues/{issue['number']}/comments", {"body": comment})
        self.request("PATCH", f"{repo}/issues/{issue['number']}", {"state": "closed", "state_reason": "completed"})
        return "closed"
