"""ListCuratedEnvironmentImages: the Docker images CodeBuild manages, as the user guide lists
them (build-env-ref-available.md; the Windows runtimes from available-runtimes.md).

The Linux standard images carry many runtimes, chosen with `runtime-versions` in the
buildspec; the guide's table of them is online only, so they are listed under the BASE
language. Offline every image is informative: commands run in a local bash whatever the
image a project names.
"""

from __future__ import annotations

# platform -> [(image, what it is)], in the guide's order
LINUX_IMAGES = {
    "AMAZON_LINUX": [
        ("aws/codebuild/amazonlinux2-x86_64-standard:3.0", "Amazon Linux 2 x86_64 standard 3.0"),
        ("aws/codebuild/amazonlinux2-x86_64-standard:4.0", "Amazon Linux 2 x86_64 standard 4.0"),
        ("aws/codebuild/amazonlinux2-aarch64-standard:1.0", "Amazon Linux 2 aarch64 standard 1.0"),
        ("aws/codebuild/amazonlinux2-aarch64-standard:2.0", "Amazon Linux 2 aarch64 standard 2.0"),
    ],
    "UBUNTU": [
        ("aws/codebuild/standard:4.0", "Ubuntu 18.04 standard 4.0"),
        ("aws/codebuild/standard:5.0", "Ubuntu 20.04 standard 5.0"),
        ("aws/codebuild/standard:6.0", "Ubuntu 22.04 standard 6.0"),
    ],
}
WINDOWS_IMAGES = ("aws/codebuild/windows-base:2019-1.0", "aws/codebuild/windows-base:2019-2.0")
# language -> its runtime versions in windows-base:2019-1.0 and 2019-2.0
WINDOWS_RUNTIMES = {
    "DOTNET": ("dotnet 3.1.4045.0", "dotnet 3.1.4196.0.300"),
    "GOLANG": ("golang 1.14", "golang 1.18.2"),
    "NODE_JS": ("nodejs 12.18", "nodejs 16.15.0"),
    "JAVA": ("java corretto11", "java corretto11, corretto17"),
    "PHP": ("php 7.4.7", "php 8.1.6"),
    "PYTHON": ("python 3.8.3", "python 3.10.4"),
    "RUBY": ("ruby 2.7", "ruby 3.1.1.1"),
}


def curated_images_reply() -> dict:
    platforms = [
        {
            "platform": platform,
            "languages": [
                {
                    "language": "BASE",
                    "images": [
                        _image(name, f"{description}; runtimes chosen with runtime-versions")
                        for name, description in images
                    ],
                }
            ],
        }
        for platform, images in LINUX_IMAGES.items()
    ]
    windows_languages = [
        {
            "language": language,
            "images": [
                _image(image, f"Windows Server Core 2019 with {runtime}")
                for image, runtime in zip(WINDOWS_IMAGES, runtimes, strict=True)
            ],
        }
        for language, runtimes in WINDOWS_RUNTIMES.items()
    ]
    platforms.append({"platform": "WINDOWS_SERVER", "languages": windows_languages})
    return {"platforms": platforms}


def _image(name: str, description: str) -> dict:
    return {"name": name, "description": description, "versions": [name]}
