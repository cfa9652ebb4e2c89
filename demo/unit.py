"""Invented demo data: "Centre pénitentiaire de Démo", one user per persona, ~300 patients.

Every name is drawn at random from lists of common French given names and surnames: the
combinations are invented and belong to no real detainee.
"""

from __future__ import annotations

import datetime
import random
import secrets
from dataclasses import dataclass

from django.contrib.auth.models import Group
from django.db import transaction
from django.utils import timezone

from appointments.services.custody import patient_admit
from dossiers.models import Patient
from usmp.accounts.models import User
from usmp.accounts.roles import Role
from usmp.core.audit import acting_as

from .agenda import load_demo_agenda
from .bridge_client import load_demo_bridge
from .records import load_demo_records

LAST_NAMES = [
    "Martin",
    "Bernard",
    "Thomas",
    "Petit",
    "Robert",
    "Richard",
    "Durand",
    "Dubois",
    "Moreau",
    "Laurent",
    "Simon",
    "Michel",
    "Lefèvre",
    "Leroy",
    "Roux",
    "David",
    "Bertrand",
    "Morel",
    "Fournier",
    "Girard",
    "Bonnet",
    "Dupont",
    "Lambert",
    "Fontaine",
    "Rousseau",
    "Vincent",
    "Muller",
    "Lefebvre",
    "Faure",
    "André",
    "Mercier",
    "Blanc",
    "Guérin",
    "Boyer",
    "Garnier",
    "Chevalier",
    "François",
    "Legrand",
    "Gauthier",
    "Garcia",
    "Perrin",
    "Robin",
    "Clément",
    "Morin",
    "Nicolas",
    "Henry",
    "Roussel",
    "Mathieu",
    "Gautier",
    "Masson",
    "Marchand",
    "Duval",
    "Denis",
    "Dumont",
    "Marie",
    "Lemaire",
    "Noël",
    "Meyer",
    "Dufour",
    "Meunier",
    "Brun",
    "Blanchard",
    "Giraud",
    "Joly",
    "Rivière",
    "Lucas",
    "Brunet",
    "Gaillard",
    "Barbier",
    "Arnaud",
    "Martinez",
    "Gérard",
    "Roche",
    "Renard",
    "Schmitt",
    "Roy",
    "Leroux",
    "Colin",
    "Vidal",
    "Caron",
    "Picard",
    "Roger",
    "Fabre",
    "Aubert",
    "Lemoine",
    "Renaud",
    "Dumas",
    "Lacroix",
    "Olivier",
    "Philippe",
    "Bourgeois",
    "Pierre",
    "Benoît",
    "Rey",
    "Leclerc",
    "Payet",
    "Rolland",
    "Leclercq",
    "Guillaume",
    "Lecomte",
    "Lopez",
    "Jean",
    "Dupuy",
    "Guillot",
    "Hubert",
    "Berger",
    "Carpentier",
    "Sanchez",
    "Dupuis",
    "Moulin",
    "Louis",
    "Deschamps",
    "Huet",
    "Vasseur",
    "Perez",
    "Boucher",
    "Fleury",
    "Royer",
    "Klein",
    "Jacquet",
    "Adam",
    "Paris",
    "Poirier",
    "Marty",
    "Aubry",
    "Guyot",
    "Carré",
    "Charles",
    "Renault",
    "Charpentier",
    "Ménard",
    "Maillard",
    "Baron",
    "Bertin",
    "Bailly",
    "Hervé",
    "Schneider",
    "Fernandez",
    "Le Gall",
    "Collet",
    "Léger",
    "Bouvier",
    "Julien",
    "Prévost",
    "Millet",
    "Perrot",
    "Daniel",
    "Le Roux",
    "Cousin",
    "Germain",
    "Breton",
    "Besson",
    "Langlois",
    "Rémy",
    "Le Goff",
    "Pelletier",
    "Lévêque",
    "Perrier",
    "Leblanc",
    "Barré",
    "Lebrun",
    "Marchal",
    "Weber",
    "Mallet",
    "Hamon",
    "Boulanger",
    "Jacob",
    "Monnier",
    "Michaud",
    "Rodriguez",
    "Guichard",
    "Gillet",
    "Étienne",
    "Grondin",
    "Poulain",
    "Tessier",
    "Chevallier",
    "Collin",
    "Chauvin",
    "Da Silva",
    "Bouchet",
    "Gay",
    "Lemaître",
    "Benard",
    "Maréchal",
    "Humbert",
    "Reynaud",
    "Antoine",
    "Hoarau",
    "Perret",
    "Barthélemy",
    "Cordier",
    "Pichon",
    "Lejeune",
    "Gilbert",
    "Lamy",
    "Delaunay",
    "Pasquier",
    "Carlier",
    "Laporte",
    "Ben Ali",
    "Diallo",
    "N'Diaye",
]
FIRST_NAMES_M = [
    "Thomas",
    "Nicolas",
    "Julien",
    "Maxime",
    "Alexandre",
    "Kevin",
    "Romain",
    "Mathieu",
    "Anthony",
    "Sébastien",
    "Jérémy",
    "Florian",
    "Guillaume",
    "Pierre",
    "Antoine",
    "Jonathan",
    "Benjamin",
    "Adrien",
    "Vincent",
    "Mickaël",
    "Clément",
    "Lucas",
    "Hugo",
    "Yanis",
    "Karim",
    "Mehdi",
    "Samir",
    "Bilal",
    "Mamadou",
    "Moussa",
    "Jean-Marc",
    "Jean-Pierre",
    "Loïc",
    "Cédric",
    "Grégory",
    "Damien",
    "Fabien",
    "Ludovic",
    "Rémi",
    "Théo",
    "Enzo",
    "Noah",
    "Dylan",
    "Steven",
    "Franck",
    "Éric",
    "Stéphane",
    "Olivier",
    "Patrick",
    "Hervé",
]
FIRST_NAMES_F = [
    "Julie",
    "Marie",
    "Laura",
    "Camille",
    "Sarah",
    "Élodie",
    "Pauline",
    "Céline",
    "Émilie",
    "Aurélie",
    "Manon",
    "Inès",
    "Léa",
    "Chloé",
    "Amandine",
    "Mélanie",
    "Sandrine",
    "Nadia",
    "Fatoumata",
    "Sonia",
    "Karima",
    "Audrey",
    "Jessica",
    "Océane",
    "Anaïs",
]

UNIT_NAME = "Centre pénitentiaire de Démo"


@dataclass(frozen=True)
class DemoUser:
    username: str
    first_name: str
    last_name: str
    role: str | None
    superuser: bool = False
    staff: bool = False


BRIDGE_TOKEN_LABEL = "AP bridge token (not a login: Authorization: Bearer <token>)"  # noqa: S105

DEMO_USERS = [
    DemoUser("infirmiere", "Claire", "Infirmière", Role.NURSE),
    DemoUser("medecin", "Paul", "Médecin", Role.PHYSICIAN),
    DemoUser("dentiste", "Nora", "Dentiste", Role.DENTIST),
    DemoUser("psychiatre", "Hélène", "Psychiatre", Role.PSYCHIATRIST),
    DemoUser("psychologue", "Yves", "Psychologue", Role.PSYCHOLOGIST),
    DemoUser("infirmier-psy", "Marc", "Infirmier-Psy", Role.PSY_NURSE),
    DemoUser("secretaire", "Sophie", "Secrétaire", Role.SECRETARY),
    DemoUser("coordinatrice", "Anne", "Coordinatrice", Role.COORDINATOR, staff=True),
    DemoUser("admin", "Alex", "Informatique", None, superuser=True, staff=True),
]


def demo_loaded() -> bool:
    return User.objects.filter(username=DEMO_USERS[0].username).exists()


def _prison_number(rng: random.Random, used: set[str]) -> str:
    while True:
        number = str(rng.randint(100000, 999999))
        if number not in used:
            used.add(number)
            return number


@transaction.atomic
def load_demo(*, patients: int = 300, seed: int = 2026) -> list[tuple[DemoUser, str]]:
    """Create the demo users and patients; return each user with a fresh random password."""
    logins: list[tuple[DemoUser, str]] = []
    for demo in DEMO_USERS:
        password = secrets.token_urlsafe(12)  # 16 characters: the CNIL's 80 bits
        user = User.objects.create_user(
            username=demo.username,
            password=password,
            first_name=demo.first_name,
            last_name=demo.last_name,
            email=f"{demo.username}@usmp-demo.invalid",
            is_staff=demo.staff,
            is_superuser=demo.superuser,
        )
        if demo.role:
            user.groups.add(Group.objects.get(name=demo.role))
        logins.append((demo, password))
    # The demo physician also confirms the clinical roles others propose.
    User.objects.get(username="medecin").groups.add(Group.objects.get(name=Role.MEDICAL_LEAD))
    rng = random.Random(seed)  # noqa: S311 - invented demo data, not security
    today = timezone.localdate()
    used: set[str] = set()
    secretary = User.objects.get(username="secretaire")
    with acting_as(secretary):
        for _ in range(patients):
            female = rng.random() < 0.04
            birth = today - datetime.timedelta(days=rng.randint(18 * 365, 70 * 365))
            patient_admit(
                acting_user=secretary,
                prison_number=_prison_number(rng, used),
                last_name=rng.choice(LAST_NAMES),
                first_name=rng.choice(FIRST_NAMES_F if female else FIRST_NAMES_M),
                birth_date=birth,
                sex=Patient.Sex.FEMALE if female else Patient.Sex.MALE,
                arrival_date=today - datetime.timedelta(days=rng.randint(0, 3 * 365)),
            )
    users = {
        u.username: u for u in User.objects.filter(username__in=[d.username for d in DEMO_USERS])
    }
    load_demo_agenda(rng=rng, users=users)
    load_demo_records(rng=rng, users=users)
    # Not a login: the prison's bridge token, listed with the logins so `make run` prints it.
    bridge_token = load_demo_bridge(acting_user=users["coordinatrice"])
    logins.append((DemoUser("pont-ap", "", "", BRIDGE_TOKEN_LABEL), bridge_token))
    return logins
