-- The catalogue of stored files: one row per file a company uploaded to the files endpoint (api/files). The bytes
-- are on disk under the company's folder; this row says who owns them, their size, type and digest, who uploaded
-- them and when. Written by commands/files.py, directly and not from the log (see commands/README.md).
CREATE TABLE files (
    company      text        NOT NULL,
    path         text        NOT NULL,
    size         bigint      NOT NULL,
    content_type text        NOT NULL,
    sha256       text        NOT NULL,
    uploaded_by  text        NOT NULL,
    uploaded     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (company, path)
);
