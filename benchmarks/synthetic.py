"""A synthetic directory of any size, built around real gazetteer places."""

from __future__ import annotations

import random

from bot.directory.gazetteer import Gazetteer
from bot.directory.model import NEEDS, Directory, Office, Service, load_directory


def synthetic_directory(offices: int, seed: int = 1, per_service: int = 4) -> Directory:
    rng = random.Random(seed)
    real = load_directory()
    places = Gazetteer().places
    services: list[Service] = []
    for n in range(0, offices, per_service):
        service_id = f"synthetic-{n // per_service}"
        office_list = []
        for i in range(min(per_service, offices - n)):
            place = rng.choice(places)
            office_list.append(
                Office(
                    service_id=service_id,
                    index=i,
                    region=place.region,
                    lat=place.lat + rng.uniform(-0.2, 0.2),
                    lon=place.lon + rng.uniform(-0.2, 0.2),
                    precision="district",
                    city=place.name,
                )
            )
        services.append(
            Service(
                id=service_id,
                organisation="Org",
                name=f"Service {n}",
                kind=rng.choice(("state", "humanitarian")),
                needs=tuple(rng.sample(NEEDS, 3)),
                coverage=(office_list[0].region,),
                description={"es": "x", "en": "x", "pt": "x", "fr": "x"},
                offices=tuple(office_list),
                phones=("01 000 0000",),
                whatsapp=(),
                emails=(),
                web=(),
                hours=None,
                verified="2023-01",
                source="synthetic",
            )
        )
    return Directory(hotlines=real.hotlines, services=services, need_labels=real.need_labels)
