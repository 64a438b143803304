FROM python:3.11-bookworm

# OpenCV (pulled in by ultralytics as well as ours) needs these shared libraries at import time.
RUN apt-get update && apt-get install -y --no-install-recommends libgl1 libglib2.0-0 && rm -rf /var/lib/apt/lists/*

## DO NOT EDIT these 3 lines.
RUN mkdir /challenge
COPY ./ /challenge
WORKDIR /challenge

## Install your dependencies here using apt install, etc.

# Include the main folder in the container (model/ holds the shipped weights).
RUN pip install -r requirements.txt
