-- One database per service: no service reads another's tables.
CREATE DATABASE registration OWNER capitals;
CREATE DATABASE scheduling OWNER capitals;
CREATE DATABASE evaluation OWNER capitals;
