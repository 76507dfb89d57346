"""Embedded French lexicon for the synthetic population: names, nicknames, cities,
streets and a few bits of web and social text. Weights are rough relative
frequencies (popularity among adults living in France), not official statistics.
"""

from __future__ import annotations

import numpy as np

_FEMALE = """
Marie:30 Nathalie:20 Isabelle:20 Sylvie:18 Catherine:18 Françoise:15 Christine:15
Monique:10 Valérie:15 Sandrine:15 Stéphanie:15 Céline:15 Sophie:15 Véronique:12
Nicole:10 Martine:12 Aurélie:14 Julie:14 Camille:14 Laura:12 Émilie:14 Élodie:12
Caroline:12 Anne:12 Hélène:10 Virginie:10 Patricia:10 Laurence:10 Chantal:8
Brigitte:8 Corinne:8 Florence:8 Pascale:8 Karine:8 Delphine:8 Mélanie:10 Audrey:10
Charlotte:10 Pauline:10 Manon:10 Léa:12 Chloé:10 Emma:10 Inès:8 Sarah:10 Marion:10
Lucie:9 Anaïs:8 Clara:7 Jade:7 Louise:7 Alice:7 Zoé:6 Océane:6 Mathilde:6 Justine:6
Margaux:6 Juliette:6 Claire:8 Cécile:8 Agnès:6 Jacqueline:6 Danielle:6 Michèle:7
Josiane:4 Odile:4 Béatrice:5 Geneviève:4 Joëlle:4 Annie:5 Éliane:3 Gaëlle:5
Maëlle:4 Solène:4 Noémie:5 Amandine:7 Jessica:6 Vanessa:6 Élise:5 Laetitia:6
Myriam:4 Fatima:5 Yasmine:4 Nadia:4 Samia:3 Aïcha:3 Leïla:3 Khadija:2 Amina:3
Mariam:2 Aminata:2 Fatoumata:2 Marie-Claire:3 Marie-Christine:4 Marie-Hélène:3
Anne-Sophie:4 Marie-France:3 Anne-Marie:4 Marie-Pierre:2 Rose:3 Jeanne:5 Margot:4
Maëva:3 Lola:4 Lina:4 Ambre:3 Romane:4 Eva:5 Nina:4 Lou:3 Lisa:4 Maëlys:3 Agathe:3
Capucine:2 Apolline:2 Bérénice:2 Clémence:5 Constance:2 Éloïse:3 Héloïse:3
Laurène:2 Mégane:3 Morgane:4 Ophélie:3 Séverine:5 Sabrina:4 Alexandra:5 Aurore:4
Coralie:4 Estelle:4 Fanny:5 Gwendoline:2 Ingrid:3 Jennifer:4 Johanna:3 Laure:4
Magali:4 Nadège:3 Natacha:2 Noëlle:2 Régine:3 Sonia:4 Suzanne:3 Thérèse:3 Yvette:3
Yvonne:2 Victoria:3 Adèle:3 Gabrielle:3 Albane:2 Bénédicte:3 Blandine:2 Élisabeth:5
Frédérique:3 Ghislaine:2 Huguette:2 Mireille:4 Murielle:3 Sylviane:3 Perrine:2
Annabelle:2 Gisèle:3 Jocelyne:4 Liliane:3 Colette:3 Denise:3 Dominique:2
Gwenaëlle:2 Maïwenn:1 Soizic:1 Ségolène:2 Raphaëlle:2 Clotilde:2 Armelle:2
"""

_MALE = """
Jean:20 Pierre:18 Michel:18 Philippe:18 Alain:14 Nicolas:20 Christophe:18 Patrick:15
Stéphane:16 Frédéric:15 Laurent:16 Éric:14 David:15 Sébastien:16 Julien:16
Olivier:15 Thierry:12 François:14 Pascal:12 Daniel:12 Bernard:10 Jacques:12
Gérard:8 Dominique:8 Thomas:16 Alexandre:15 Maxime:12 Antoine:12 Guillaume:12
Romain:12 Kevin:10 Mathieu:8 Matthieu:5 Jérôme:10 Vincent:12 Emmanuel:10
Benjamin:10 Anthony:9 Florian:9 Quentin:8 Clément:8 Hugo:10 Lucas:12 Louis:10
Gabriel:8 Léo:9 Raphaël:8 Arthur:8 Jules:8 Adam:6 Nathan:8 Enzo:7 Théo:9 Tom:6
Noah:5 Paul:8 Baptiste:6 Valentin:6 Adrien:8 Damien:7 Cédric:8 Fabrice:8 Franck:7
Bruno:8 Didier:8 Gilles:8 Hervé:7 Jean-Pierre:8 Jean-Claude:7 Jean-Luc:6
Jean-François:6 Jean-Marc:5 Jean-Michel:5 Jean-Louis:4 Jean-Paul:4
Jean-Baptiste:4 Jean-Christophe:3 Jean-Philippe:3 Jean-Yves:3 Pierre-Yves:2
Marc-Antoine:2 Loïc:6 Yannick:6 Ludovic:6 Grégory:7 Arnaud:7 Jérémy:7 Mickaël:6
Cyril:6 Fabien:7 Xavier:6 Yves:6 René:5 Roger:4 Marcel:4 André:7 Claude:6 Serge:6
Joël:5 Gaël:4 Gaëtan:4 Aurélien:6 Benoît:6 Bertrand:4 Denis:6 Étienne:5
Gauthier:3 Grégoire:3 Henri:4 Jonathan:6 Joseph:4 Lionel:5 Marc:8 Martin:4
Mathis:5 Mehdi:4 Mohamed:7 Karim:5 Rachid:4 Samir:4 Youssef:4 Ahmed:4 Ali:3
Mamadou:3 Moussa:2 Ibrahim:3 Bilal:3 Sofiane:3 Yanis:4 Rayan:3 Ethan:4 Timothée:3
Thibault:5 Tristan:3 Victor:5 Yohan:3 Sylvain:7 Simon:6 Rémi:6 Régis:4 Noël:3
Morgan:3 Mathias:3 Lucien:2 Jordan:4 Guy:4 Gilbert:3 Georges:4 Félix:4 Erwan:3
Émile:3 Dylan:3 Corentin:4 Christian:8 Charles:5 Bastien:4 Axel:4 Alexis:6
Albert:3 Aymeric:2 Brice:2 Gwenaël:2 Ronan:3 Yann:4 Tanguy:2 Hadrien:2 Jacky:2
Raymond:2 Francis:4 Jean-Marie:3 Lilian:2 Sacha:3
"""

_FAMILY = """
Martin 40; Bernard 25; Thomas 22; Petit 20; Robert 20; Richard 20; Durand 19;
Dubois 19; Moreau 18; Laurent 18; Simon 17; Michel 17; Lefebvre 16; Leroy 15;
Roux 14; David 14; Bertrand 14; Morel 14; Fournier 13; Girard 13; Bonnet 13;
Dupont 13; Lambert 12; Fontaine 12; Rousseau 12; Vincent 12; Muller 12; Lefèvre 12;
Faure 11; André 11; Mercier 11; Blanc 11; Guérin 11; Boyer 10; Garnier 10;
Chevalier 10; François 10; Legrand 10; Gauthier 10; Garcia 10; Perrin 10; Robin 10;
Clément 10; Morin 10; Nicolas 9; Henry 9; Roussel 9; Mathieu 9; Gautier 9; Masson 9;
Marchand 9; Duval 9; Denis 9; Dumont 9; Marie 9; Lemaire 9; Noël 8; Meyer 8;
Dufour 8; Meunier 8; Brun 8; Blanchard 8; Giraud 8; Joly 8; Rivière 8; Lucas 8;
Brunet 8; Gaillard 8; Barbier 8; Arnaud 8; Martinez 8; Gérard 8; Roche 8; Renard 8;
Schmitt 8; Roy 8; Leroux 8; Colin 8; Vidal 8; Caron 8; Picard 8; Roger 7; Fabre 7;
Aubert 7; Lemoine 7; Renaud 7; Dumas 7; Lacroix 7; Olivier 7; Philippe 7;
Bourgeois 7; Pierre 7; Benoît 7; Rey 7; Leclerc 7; Payet 7; Rolland 7; Leclercq 7;
Guillaume 7; Lecomte 7; Lopez 7; Jean 7; Dupuy 7; Guillot 7; Hubert 7; Berger 7;
Carpentier 7; Sanchez 7; Dupuis 7; Moulin 7; Louis 7; Deschamps 7; Huet 6;
Vasseur 6; Perez 6; Boucher 6; Fleury 6; Royer 6; Klein 6; Jacquet 6; Adam 6;
Paris 6; Poirier 6; Marty 6; Aubry 6; Guyot 6; Carré 6; Charles 6; Renault 6;
Charpentier 6; Ménard 6; Maillard 6; Baron 6; Bertin 6; Bailly 6; Hervé 6;
Schneider 6; Fernandez 6; Le Gall 6; Collet 6; Léger 6; Bouvier 6; Julien 6;
Prévost 6; Millet 6; Perrot 6; Daniel 6; Le Roux 5; Cousin 5; Germain 5; Breton 5;
Besson 5; Langlois 5; Rémy 5; Le Goff 5; Pelletier 5; Lévêque 5; Perrier 5;
Leblanc 5; Barré 5; Lebrun 5; Marchal 5; Weber 5; Mallet 5; Hamon 5; Boulanger 5;
Jacob 5; Monnier 5; Michaud 5; Rodriguez 5; Guichard 5; Gillet 5; Étienne 5;
Grondin 5; Poulain 5; Tessier 5; Chevallier 5; Collin 5; Chauvin 5; Da Silva 5;
Bouchet 5; Gay 5; Lemaître 5; Bénard 5; Gonzalez 5; Lejeune 4; Carlier 4;
Dos Santos 4; Pereira 4; Ferreira 4; Rodrigues 4; Fernandes 4; Lopes 4; Gomes 4;
Martins 4; Nguyen 5; Tran 3; Pham 2; Ben Ali 2; Benali 2; Haddad 2; Mansouri 2;
Bouzid 2; Cherif 2; Diallo 3; N'Diaye 3; Traoré 3; Diop 2; Sow 2; Camara 2; Koné 2;
Cissé 2; Kouassi 1; Le Bihan 3; Le Floch 3; Le Corre 3; Le Guen 3; Le Bris 2;
Le Meur 2; Le Moal 2; Tanguy 3; Quéré 2; Le Hir 2; Guégan 2; de la Fontaine 1;
de Villiers 1; du Pont 1; de Lattre 1; de Montfort 1; d'Almeida 2; d'Arco 1;
de Oliveira 2; Saint-Martin 2; Delacroix 3; Dupré 4; Delmas 3; Lefort 3;
Lacombe 3; Lagarde 3; Laporte 3; Lamy 3; Lebon 3; Legros 3; Lenoir 3; Lesage 3;
Lévy 3; Cohen 3; Marchetti 2; Rossi 3; Russo 2; Bianchi 2; Ferrari 2; Romano 2;
Costa 3; Schmidt 3; Fischer 3; Wagner 3; Becker 2; Hoffmann 2; Koch 2;
Zimmermann 2; Kieffer 2; Bauer 2; Wolff 2; Jung 2; Herrmann 2; Hoarau 3; Fontaine 2;
Bonnin 3; Guillon 3; Bouvet 3; Pichon 3; Marechal 3; Leconte 3; Texier 3; Hardy 4;
Labbé 3; Brunel 3; Blondel 3; Bigot 3; Antoine 4; Bourdon 3; Devaux 3; Vallée 3;
Pons 3; Raynaud 3; Caron 3; Chauvet 3; Buisson 3; Navarro 3; Hamel 3; Guibert 3;
Maillot 3; Jourdan 3; Bertrand 2; Pasquier 3; Leduc 3; Parent 3; Bodin 3; Boyer 2;
Charrier 3; Gilbert 3; Lebreton 3; Lemonnier 3; Rigaud 3; Laine 3; Marion 3;
Humbert 3; Tissot 3; Valentin 3; Riviere 1; Sauvage 3; Bouchard 3; Lacoste 3;
Barthélemy 3; Lebas 3; Teixeira 3; Ollivier 3; Paris 1; Delaunay 3; Blanchet 3;
Poulet 2; Perret 3; Cordier 3; Gros 3; Bousquet 3; Bonneau 3; Hoareau 2; Leveque 2;
Jacques 3; Maury 3; Marin 3; Georges 3; Dumont 2; Charbonnier 2; Bourdin 2;
Lecoq 2; Gallet 2; Lamotte 2; Guerin 2; Pineau 2; Prevot 2; Besnard 2; Cartier 2;
Rocher 2; Vaillant 2; Laurens 2; Ledoux 2; Bazin 2; Fouquet 2; Fleuriot 1;
Thibault 3; Bourgeois 2; Rault 2; Couturier 2; Gosselin 2; Joubert 2; Granger 2;
Hébert 3; Brunier 1; Chartier 2; Lelièvre 2; Duhamel 2; Lecocq 2; Delattre 2;
Blin 2; Turpin 2; Forestier 2; Coulon 2; Boutin 2; Poisson 2; Ferrand 2; Mary 2;
Pottier 2; Briand 2; Nicolle 2; Jolly 2; Drouet 2; Vacher 2; Verdier 2; Carre 2;
Brunel 1; Gallois 2; Moreno 2; Jimenez 2; Hernandez 2; Alves 2; Marques 2;
Ribeiro 2; Cardoso 2; Sousa 2; Pinto 2; Carvalho 2; Benoit 2; Legendre 2;
Aubin 2; Lebeau 2; Chapuis 2; Gaudin 2; Vial 2; Giraud 2; Allard 2; Brisson 2;
Reynaud 2; Sabatier 2; Cros 2; Arnould 2; Baudry 2; Ruiz 2; Lemaire 1; Moulin 1;
Godard 2; Maurice 2; Didier 2; Brun 1; Chevrier 2; Hamelin 1; Mahé 2; Kerouédan 1;
Le Bras 2; Le Du 1; Le Roy 2; Le Borgne 1; Le Page 1; Le Pape 1; Le Clerc 1;
Kerbrat 1; Le Gac 1; Cadiou 1; Prigent 2; Jaouen 1; Morvan 2; Quémener 1; Le Cam 1;
Boulay 2; Tardy 1; Ferry 2; Poncet 2; Rousset 2; Bouvet 1; Hoffmann 1; Fritsch 1;
Wehrlé 1; Meyer 1; Ott 1; Ebersold 1; Heitz 1; Benhamou 1; Attal 1; Amar 1;
Boukhari 1; Belkacem 1; Saïdi 1; Brahimi 2; Hamidi 1; Meziane 1; Khelifi 1;
Zerrouki 1; Bensaïd 1; El Amrani 1; El Idrissi 1; Ait Ali 1; Benmoussa 1;
Touré 1; Keita 1; Sylla 1; Konaté 1; Fofana 2; Bamba 1; Mendy 1; Gomis 1; Sarr 1;
Ba 1; Faye 1; Ndiaye 1; Mbappé 1; Ouattara 1; Coulibaly 2; Dembélé 1; Kanté 1;
Vu 1; Ly 1; Lam 1; Truong 1; Hoang 1; Dang 1; Chen 1; Wang 1; Zhang 1; Li 1;
Yilmaz 1; Kaya 1; Demir 1; Öztürk 1; Martin-Dupont 1; Moreau-Leroy 1
"""

# Nickname -> given names it is short for. Nicknames that are also given names in
# the lexicon (Tom, Max, Alex) are kept: they are real-world ambiguities.
NICKNAMES: dict[str, tuple[str, ...]] = {
    "Fred": ("Frédéric", "Frédérique"),
    "Nico": ("Nicolas",),
    "Steph": ("Stéphanie", "Stéphane"),
    "Alex": ("Alexandre", "Alexandra", "Alexis"),
    "Manu": ("Emmanuel",),
    "Seb": ("Sébastien",),
    "Cathy": ("Catherine",),
    "Chris": ("Christophe", "Christine", "Christian"),
    "Flo": ("Florence", "Florian"),
    "Ben": ("Benjamin",),
    "Max": ("Maxime",),
    "Tom": ("Thomas",),
    "Val": ("Valérie", "Valentin"),
    "Isa": ("Isabelle",),
    "Véro": ("Véronique",),
    "Nath": ("Nathalie",),
    "Domi": ("Dominique",),
    "JP": ("Jean-Pierre",),
    "JC": ("Jean-Claude",),
    "Jeff": ("Jean-François",),
    "Gégé": ("Gérard",),
    "Babeth": ("Élisabeth",),
    "Élo": ("Élodie",),
    "Juju": ("Julien", "Julie"),
    "Matt": ("Mathieu", "Matthieu"),
    "Greg": ("Grégory", "Grégoire"),
    "Mika": ("Mickaël",),
    "Ludo": ("Ludovic",),
    "Jérém": ("Jérémy",),
    "Caro": ("Caroline",),
    "Soso": ("Sophie",),
    "Sandy": ("Sandrine",),
    "Lolo": ("Laurent", "Laurence"),
    "Titi": ("Thierry",),
    "Pat": ("Patrick", "Patricia"),
    "Phil": ("Philippe",),
    "Béa": ("Béatrice",),
    "Mimi": ("Michèle", "Michel"),
    "Marco": ("Marc",),
    "Toinou": ("Antoine",),
    "Guigui": ("Guillaume",),
    "Vince": ("Vincent",),
    "Cécé": ("Cécile",),
}

# Spelling variants people and clerks produce for the same given name.
SPELLING_VARIANTS: dict[str, tuple[str, ...]] = {
    "Mathieu": ("Matthieu", "Mathieux"),
    "Matthieu": ("Mathieu",),
    "Kevin": ("Kévin",),
    "Mickaël": ("Michaël", "Mikael", "Mickael"),
    "Laetitia": ("Lætitia", "Létitia", "Laëtitia"),
    "Gaëlle": ("Gaelle", "Gaël"),
    "Raphaël": ("Raphael",),
    "Philippe": ("Philipe", "Phillipe"),
    "Anthony": ("Antony",),
    "Grégory": ("Grégori",),
    "Sylvie": ("Silvie",),
    "Stéphane": ("Stefane",),
    "Jérémy": ("Jérémie",),
    "Yann": ("Yan",),
    "Yohan": ("Johan", "Yoann"),
    "Caroline": ("Carolyne",),
    "Karine": ("Carine",),
    "Murielle": ("Muriel",),
    "Joëlle": ("Joelle",),
    "Noémie": ("Noemie",),
}

# (city, postcode, weight). Paris, Lyon and Marseille are split by arrondissement.
_CITIES = """
Paris|75001|2 Paris|75002|2 Paris|75003|3 Paris|75004|3 Paris|75005|5 Paris|75006|4
Paris|75007|5 Paris|75008|4 Paris|75009|6 Paris|75010|9 Paris|75011|14 Paris|75012|14
Paris|75013|18 Paris|75014|14 Paris|75015|23 Paris|75016|16 Paris|75017|17
Paris|75018|19 Paris|75019|18 Paris|75020|19
Lyon|69001|3 Lyon|69002|3 Lyon|69003|10 Lyon|69004|4 Lyon|69005|5 Lyon|69006|5
Lyon|69007|8 Lyon|69008|8 Lyon|69009|5
Marseille|13001|4 Marseille|13002|2 Marseille|13003|5 Marseille|13004|5
Marseille|13005|5 Marseille|13006|4 Marseille|13007|4 Marseille|13008|8
Marseille|13009|7 Marseille|13010|6 Marseille|13011|6 Marseille|13012|6
Marseille|13013|9 Marseille|13014|6 Marseille|13015|8 Marseille|13016|2
Toulouse|31000|12 Toulouse|31100|10 Toulouse|31200|8 Toulouse|31300|8 Toulouse|31400|8
Toulouse|31500|7 Nice|06000|14 Nice|06100|10 Nice|06200|9 Nice|06300|8
Nantes|44000|12 Nantes|44100|10 Nantes|44200|6 Nantes|44300|8
Strasbourg|67000|14 Strasbourg|67100|10 Strasbourg|67200|9
Montpellier|34000|12 Montpellier|34070|8 Montpellier|34080|8 Montpellier|34090|6
Bordeaux|33000|14 Bordeaux|33100|4 Bordeaux|33200|5 Bordeaux|33300|3 Bordeaux|33800|4
Lille|59000|14 Lille|59160|4 Lille|59260|4 Lille|59777|3 Lille|59800|8
Rennes|35000|14 Rennes|35200|5 Rennes|35700|4 Reims|51100|18 Le Havre|76600|17
Saint-Étienne|42000|10 Saint-Étienne|42100|7 Toulon|83000|9 Toulon|83100|5
Toulon|83200|3 Grenoble|38000|10 Grenoble|38100|6 Dijon|21000|16 Angers|49000|10
Angers|49100|5 Nîmes|30000|10 Nîmes|30900|5 Villeurbanne|69100|15
Clermont-Ferrand|63000|10 Clermont-Ferrand|63100|5 Le Mans|72000|10 Le Mans|72100|4
Aix-en-Provence|13090|6 Aix-en-Provence|13100|8 Brest|29200|14 Tours|37000|8
Tours|37100|3 Tours|37200|3 Amiens|80000|8 Amiens|80080|3 Amiens|80090|2
Limoges|87000|8 Limoges|87100|3 Limoges|87280|2 Annecy|74000|13 Perpignan|66000|8
Perpignan|66100|4 Boulogne-Billancourt|92100|12 Metz|57000|7 Metz|57050|3
Metz|57070|2 Besançon|25000|12 Orléans|45000|8 Orléans|45100|3 Saint-Denis|93200|11
Saint-Denis|97400|15 Argenteuil|95100|11 Rouen|76000|8 Rouen|76100|3
Mulhouse|68100|8 Mulhouse|68200|3 Montreuil|93100|11 Caen|14000|10 Nancy|54000|8
Nancy|54100|2 Saint-Paul|97460|10 Tourcoing|59200|10 Roubaix|59100|10
Nanterre|92000|9 Vitry-sur-Seine|94400|9 Avignon|84000|9 Créteil|94000|9
Dunkerque|59140|6 Dunkerque|59240|3 Poitiers|86000|9 Asnières-sur-Seine|92600|9
Versailles|78000|8 Courbevoie|92400|8 Colombes|92700|8 Aubervilliers|93300|8
Aulnay-sous-Bois|93600|8 Rueil-Malmaison|92500|8 Pau|64000|8
Champigny-sur-Marne|94500|8 Antibes|06600|7 Saint-Maur-des-Fossés|94100|5
Saint-Maur-des-Fossés|94210|2 La Rochelle|17000|8 Calais|62100|7 Cannes|06400|5
Cannes|06150|2 Béziers|34500|8 Colmar|68000|7 Bourges|18000|6 Drancy|93700|7
Mérignac|33700|7 Saint-Nazaire|44600|7 Ajaccio|20000|7 Bastia|20200|4
Issy-les-Moulineaux|92130|7 Noisy-le-Grand|93160|7 Levallois-Perret|92300|6
Quimper|29000|6 Valence|26000|6 Villeneuve-d'Ascq|59650|4 Villeneuve-d'Ascq|59491|2
Troyes|10000|6 Neuilly-sur-Seine|92200|6 Antony|92160|6 La Seyne-sur-Mer|83500|6
Lorient|56100|6 Chambéry|73000|6 Niort|79000|6 Sarcelles|95200|6 Pessac|33600|6
Vénissieux|69200|6 Cergy|95000|6 Ivry-sur-Seine|94200|6 Clichy|92110|6
Cholet|49300|5 Hyères|83400|5 Villejuif|94800|5 Épinay-sur-Seine|93800|5
Fréjus|83600|5 Saint-Quentin|02100|5 Vannes|56000|5 Beauvais|60000|5 Bayonne|64100|5
Saint-Malo|35400|5 Arles|13200|5 Chartres|28000|4 Évry-Courcouronnes|91000|5
Saint-Brieuc|22000|4 La Roche-sur-Yon|85000|5 Laval|53000|5 Angoulême|16000|4
Belfort|90000|4 Blois|41000|4 Montauban|82000|5 Châteauroux|36000|4
Carcassonne|11000|4 Albi|81000|4 Tarbes|65000|4 Gap|05000|4 Auxerre|89000|3
Vichy|03200|3 Bourg-en-Bresse|01000|4 Saint-Jean-de-Luz|64500|2 Biarritz|64200|3
Sète|34200|4 Lannion|22300|2 Morlaix|29600|2 Concarneau|29900|2
Brive-la-Gaillarde|19100|4 Périgueux|24000|3 Agen|47000|3 Mont-de-Marsan|40000|3
Dax|40100|2 Épinal|88000|3 Thionville|57100|4 Charleville-Mézières|08000|4
Châlons-en-Champagne|51000|4 Évreux|27000|4 Cherbourg-en-Cotentin|50100|6
Alençon|61000|3 Lisieux|14100|2 Saint-Lô|50000|2 Fort-de-France|97200|6
Pointe-à-Pitre|97110|2 Cayenne|97300|5 Saint-Pierre|97410|6 Le Tampon|97430|6
Villefranche-sur-Saône|69400|3 Vienne|38200|3 Saint-Priest|69800|4 Bron|69500|4
Vaulx-en-Velin|69120|4 Marcq-en-Barœul|59700|4 Saint-Germain-en-Laye|78100|4
Meaux|77100|5 Melun|77000|4 Fontainebleau|77300|2 Chelles|77500|5
Le Puy-en-Velay|43000|2 Aurillac|15000|2 Rodez|12000|2 Cahors|46000|2 Foix|09000|1
Mende|48000|1 Digne-les-Bains|04000|1 Menton|06500|3 Grasse|06130|4
Draguignan|83300|3 Istres|13800|4 Martigues|13500|4 Salon-de-Provence|13300|4
Aubagne|13400|4 La Ciotat|13600|3 Saint-Ouen-sur-Seine|93400|5 Pantin|93500|5
Bobigny|93000|5 Le Blanc-Mesnil|93150|5 Rosny-sous-Bois|93110|4 Massy|91300|5
Corbeil-Essonnes|91100|4 Palaiseau|91120|3 Sartrouville|78500|5 Poissy|78300|4
Mantes-la-Jolie|78200|4 Saint-Herblain|44800|4 Rezé|44400|4 Talence|33400|4
Bègles|33130|3 Blagnac|31700|3 Colomiers|31770|4 Le Cannet|06110|4
Saint-Laurent-du-Var|06700|3 Cagnes-sur-Mer|06800|4 Illkirch-Graffenstaden|67400|3
Schiltigheim|67300|3 Haguenau|67500|3 Sélestat|67600|2 Saint-Chamond|42400|3
Roanne|42300|3 Montluçon|03100|3 Moulins|03000|2 Nevers|58000|3 Mâcon|71000|3
Chalon-sur-Saône|71100|4 Le Creusot|71200|2 Saumur|49400|2 Lens|62300|3
Arras|62000|4 Douai|59500|3 Valenciennes|59300|4 Maubeuge|59600|3 Cambrai|59400|3
Boulogne-sur-Mer|62200|4 Soissons|02200|2 Compiègne|60200|3 Creil|60100|3
Abbeville|80100|2
"""

STREET_TYPES: tuple[tuple[str, float, tuple[str, ...]], ...] = (
    # (type, weight, abbreviations found in the wild)
    ("rue", 60, ("r.", "R")),
    ("avenue", 14, ("av.", "Av", "ave")),
    ("boulevard", 8, ("bd", "Bd", "boul.", "bld")),
    ("place", 4, ("pl.", "Pl")),
    ("allée", 4, ("all.", "allee")),
    ("impasse", 3, ("imp.", "Imp")),
    ("chemin", 3, ("ch.", "chem.")),
    ("route", 2, ("rte", "Rte")),
    ("quai", 1, ("qu.",)),
    ("cours", 1, ("crs",)),
    ("square", 1, ("sq.",)),
    ("passage", 1, ("pass.",)),
)

STREET_NAMES: tuple[str, ...] = (
    "de la Paix", "Victor Hugo", "Jean Jaurès", "de la République", "Pasteur",
    "du Général de Gaulle", "Gambetta", "Jules Ferry", "de la Gare", "de l'Église",
    "des Lilas", "du Moulin", "Nationale", "Voltaire", "Émile Zola", "Anatole France",
    "de Verdun", "Foch", "Carnot", "Saint-Michel", "de la Liberté", "des Écoles",
    "du Château", "Paul Bert", "Jean Moulin", "de Strasbourg", "Thiers", "Clemenceau",
    "du Maréchal Leclerc", "des Acacias", "des Tilleuls", "du Stade", "de Paris",
    "Saint-Jacques", "des Roses", "du Port", "de Bretagne", "Lamartine",
    "d'Alsace-Lorraine", "du 8 Mai 1945", "du 11 Novembre", "de la Mairie", "Montaigne",
    "Molière", "Racine", "Balzac", "Marcel Pagnol", "Pierre Curie", "Marie Curie",
    "des Peupliers", "des Chênes", "du Commerce", "de la Fontaine", "des Vignes",
    "de la Poste", "du Marché", "des Jardins", "Denfert-Rochereau", "de Lattre de Tassigny",
    "Albert Camus", "Jean Moulin", "Aristide Briand", "Guy Môquet", "Charles Péguy",
    "Louis Pasteur", "Alphonse Daudet", "George Sand", "Jeanne d'Arc", "de la Mer",
    "des Pins", "du Lavoir", "de la Croix", "Saint-Honoré", "de Rivoli", "Lafayette",
    "Oberkampf", "de Belleville", "de la Roquette", "du Faubourg Saint-Antoine",
    "de Vaugirard", "de Charonne", "Mouffetard", "des Martyrs", "Lecourbe",
    "de la Convention", "Ordener", "Championnet", "de Ménilmontant", "Daguerre",
    "des Rosiers", "du Bac", "de Grenelle", "de Sèvres", "Cler", "de Tolbiac",
)

EMAIL_DOMAINS: tuple[tuple[str, float], ...] = (
    ("gmail.com", 35), ("orange.fr", 12), ("hotmail.fr", 10), ("free.fr", 8),
    ("yahoo.fr", 7), ("hotmail.com", 5), ("sfr.fr", 5), ("laposte.net", 5),
    ("wanadoo.fr", 4), ("outlook.fr", 4), ("icloud.com", 3), ("live.fr", 3),
    ("outlook.com", 2), ("neuf.fr", 1), ("aol.com", 1), ("protonmail.com", 1),
)

DOMAIN_TYPOS: dict[str, tuple[str, ...]] = {
    "gmail.com": ("gmial.com", "gmail.fr", "gmai.com", "gmail.co", "gnail.com"),
    "orange.fr": ("ornage.fr", "orange.com", "oragne.fr"),
    "hotmail.fr": ("hotmial.fr", "hotmail.ft", "hotamil.fr"),
    "free.fr": ("fre.fr", "free.com"),
    "yahoo.fr": ("yahou.fr", "yaho.fr", "yahoo.com"),
    "hotmail.com": ("hotmail.con", "hotmal.com"),
    "sfr.fr": ("srf.fr",),
    "laposte.net": ("laposte.fr", "lapost.net"),
    "wanadoo.fr": ("wanado.fr", "wanadoo.com"),
    "outlook.fr": ("outlok.fr",),
}

JUNK_EMAILS: tuple[str, ...] = (
    "test@test.com", "test@test.fr", "a@a.com", "aaa@aaa.fr", "nepasrepondre@test.com",
)
JUNK_PHONES: tuple[str, ...] = ("0000000000", "0123456789", "0600000000", "1111111111")
JUNK_NAMES: tuple[str, ...] = ("N/A", "n/a", "Test", "XXX", "-", "inconnu", "NA")

# Mobile carrier IPv4 prefixes (first two octets) and home ISP first octets.
MOBILE_IP_PREFIXES: tuple[str, ...] = (
    "37.164", "37.170", "80.12", "92.184", "176.144", "176.159", "77.205", "109.29",
)
HOME_IP_FIRST_OCTETS: tuple[int, ...] = (2, 78, 82, 86, 88, 90, 92, 109, 176, 212)

BROWSER_USER_AGENTS: tuple[str, ...] = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/122.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:123.0) Gecko/20100101 Firefox/123.0",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.3 Safari/605.1.15",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/121.0.0.0 Safari/537.36 Edg/121.0.2277.128",
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_3_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.3 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 14; SM-S911B) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/122.0.6261.64 Mobile Safari/537.36",
    "Mozilla/5.0 (Linux; Android 13; Pixel 7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/121.0.6167.178 Mobile Safari/537.36",
    "Mozilla/5.0 (iPad; CPU OS 17_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.2 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 12; Redmi Note 11) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/119.0.6045.163 Mobile Safari/537.36",
)
#: Index of the first mobile user agent in :data:`BROWSER_USER_AGENTS`.
MOBILE_UA_FROM = 5

APP_USER_AGENTS: tuple[tuple[str, str], ...] = (
    ("MaBoutique/5.2.1 (iPhone; iOS 17.3.1; Scale/3.00)", "ios"),
    ("MaBoutique/5.2.0 (iPhone; iOS 16.7.5; Scale/3.00)", "ios"),
    ("MaBoutique/5.1.4 (iPhone; iOS 17.2; Scale/2.00)", "ios"),
    ("MaBoutique/5.2.1 (Android 14; SM-S918B)", "android"),
    ("MaBoutique/5.2.1 (Android 13; Pixel 6a)", "android"),
    ("MaBoutique/5.0.9 (Android 12; M2101K6G)", "android"),
    ("MaBoutique/5.2.0 (Android 11; SM-A515F)", "android"),
)
TABLET_USER_AGENTS: tuple[tuple[str, str], ...] = (
    ("MaBoutique/5.2.1 (iPad; iPadOS 17.3; Scale/2.00)", "ios"),
    ("MaBoutique/5.2.0 (Android 13; SM-X200)", "android"),
)

TRACK_EVENTS: tuple[tuple[str, float], ...] = (
    ("Product Viewed", 40), ("Product List Viewed", 15), ("Products Searched", 10),
    ("Product Added", 12), ("Cart Viewed", 8), ("Checkout Started", 5),
    ("Order Completed", 4), ("Promotion Clicked", 4), ("Store Locator Opened", 2),
)
PAGES: tuple[tuple[str, str, str], ...] = (
    # (name, path, title)
    ("Accueil", "/", "MaBoutique – Mode, maison et beauté"),
    ("Catégorie", "/c/femme", "Femme | MaBoutique"),
    ("Catégorie", "/c/homme", "Homme | MaBoutique"),
    ("Catégorie", "/c/maison", "Maison & déco | MaBoutique"),
    ("Produit", "/p/", "Fiche produit | MaBoutique"),
    ("Panier", "/panier", "Mon panier | MaBoutique"),
    ("Mon compte", "/compte", "Mon compte | MaBoutique"),
    ("Magasins", "/magasins", "Trouver un magasin | MaBoutique"),
    ("Soldes", "/soldes", "Soldes d'hiver – jusqu'à -50 % | MaBoutique"),
    ("Aide", "/aide/livraison", "Livraison & retours | MaBoutique"),
)
SEARCH_QUERIES: tuple[str, ...] = (
    "robe été", "jean slim", "baskets blanches", "pull col roulé", "manteau laine",
    "coussin velours", "parfum femme", "sac à main", "t-shirt enfant", "chaussures été",
    "bougie parfumée", "veste en jean", "maillot de bain", "écharpe cachemire", "lampe",
)
PRODUCT_NAMES: tuple[str, ...] = (
    "Robe fluide imprimée", "Jean slim brut", "Baskets cuir blanc", "Pull col roulé",
    "Manteau en laine", "Coussin velours côtelé", "Eau de parfum 50 ml", "Sac cabas",
    "T-shirt coton bio", "Veste en jean", "Bougie « Figuier »", "Écharpe cachemire",
    "Lampe à poser", "Chemise lin", "Bottines daim",
)

TWITTER_BIOS: tuple[str, ...] = (
    "", "", "", "Maman de 2 loulous 💕", "Fan de rando et de café ☕",
    "Développeur web. Avis perso.", "Supporter de l'OM ⚽", "Lyonnaise d'adoption",
    "Amoureux de la Bretagne 🌊", "Prof des écoles. Tweets perso.", "Passionnée de déco",
    "Runner du dimanche 🏃", "Cinéphile, lecteur, râleur.", "Infirmière de nuit",
    "Photographe amateur 📷", "Jardinage, vélo, rugby.", "Ici pour les bons plans",
    "« La vie est belle »", "Consultant RH | Paris", "Étudiante en droit ⚖️",
    "Papa, geek & cuisinier", "Fan de séries et de chats 🐱",
)
TWITTER_LOCATIONS_FREE: tuple[str, ...] = (
    "France", "", "", "Quelque part 🌍", "Sur la route", "Bretagne", "Sud de la France",
    "Entre Paris et Lyon", "Île-de-France", "Chez moi", "Côte d'Azur ☀️",
)
TWITTER_PSEUDO_WORDS: tuple[str, ...] = (
    "chat_noir", "lunedemiel", "petitbateau", "velo_dimanche", "mistral", "la_reveuse",
    "crocodile", "tournesol", "bigorneau", "cafe_creme", "pain_choco", "zebulon",
    "marmotte", "lapin_bleu", "etoile_filante", "kiwi", "tigrou", "papillon",
)
TWITTER_PSEUDO_NAMES: tuple[str, ...] = (
    "La Rêveuse 🌙", "Chat Noir", "Petit Bateau ⛵", "Mistral Gagnant", "Tournesol 🌻",
    "Le Bigorneau", "Café Crème ☕", "Zébulon", "Marmotte", "Lapin Bleu",
    "Étoile Filante ✨", "Kiwi", "Tigrou", "Papillon 🦋", "Pain au chocolat",
)

SUPPORT_TOPICS: tuple[tuple[str, str], ...] = (
    ("Commande {order} non reçue",
     "J'ai passé la commande {order} il y a maintenant dix jours et je n'ai toujours "
     "rien reçu. Le suivi n'a pas bougé depuis le {day}. Pouvez-vous vérifier ?"),
    ("Demande de remboursement – commande {order}",
     "Suite au retour de ma commande {order} en magasin, je n'ai pas encore été "
     "remboursé(e). Merci de me tenir informé(e)."),
    ("Question sur ma carte de fidélité",
     "Mes points de fidélité n'apparaissent plus sur mon compte depuis mon dernier "
     "achat en magasin. Est-ce normal ?"),
    ("Changement d'adresse",
     "Je viens de déménager, pourriez-vous mettre à jour mon adresse de livraison ? "
     "Ma nouvelle adresse figure ci-dessous."),
    ("Réclamation : article défectueux",
     "L'article reçu (commande {order}) est abîmé : la fermeture éclair est cassée. "
     "Je souhaite un échange."),
    ("Désinscription newsletter",
     "Je reçois trop de courriels, merci de me désinscrire de la lettre d'information."),
    ("Problème de connexion à mon compte",
     "Impossible de me connecter à mon compte depuis l'application, le mot de passe "
     "est refusé alors que je viens de le réinitialiser."),
    ("Code promo refusé",
     "Le code promo reçu par e-mail est refusé au moment du paiement. Il est pourtant "
     "valable jusqu'à la fin du mois."),
)
SUPPORT_GREETINGS: tuple[str, ...] = ("Bonjour,", "Bonjour Madame, Monsieur,", "Bonsoir,", "Hello,")
SUPPORT_CLOSINGS: tuple[str, ...] = (
    "Cordialement,", "Bien cordialement,", "Merci d'avance,", "Bien à vous,", "Bonne journée,",
)


def _weighted(text: str, sep: str) -> tuple[tuple[str, ...], np.ndarray]:
    names: list[str] = []
    weights: list[float] = []
    seen: dict[str, int] = {}
    for item in text.replace("\n", " " if sep == " " else "\n").split(sep):
        item = item.strip()
        if not item:
            continue
        if sep == " ":
            name, _, w = item.rpartition(":")
        else:
            name, _, w = item.rpartition(" ")
        if name in seen:  # a repeated entry adds weight
            weights[seen[name]] += float(w)
            continue
        seen[name] = len(names)
        names.append(name)
        weights.append(float(w))
    arr = np.asarray(weights, dtype=float)
    return tuple(names), arr / arr.sum()


FEMALE_NAMES, FEMALE_WEIGHTS = _weighted(_FEMALE, " ")
MALE_NAMES, MALE_WEIGHTS = _weighted(_MALE, " ")
FAMILY_NAMES, FAMILY_WEIGHTS = _weighted(_FAMILY.replace("\n", " "), ";")


def _cities() -> tuple[tuple[str, ...], tuple[str, ...], np.ndarray]:
    cities, postcodes, weights = [], [], []
    # city names contain spaces, so split on "|": [city0, pc0, "w0 city1", pc1, ...]
    parts = _CITIES.replace("\n", " ").split("|")
    city = parts[0].strip()
    for i in range(1, len(parts), 2):
        postcode = parts[i].strip()
        rest = parts[i + 1].strip() if i + 1 < len(parts) else ""
        weight, _, next_city = rest.partition(" ")
        cities.append(city)
        postcodes.append(postcode)
        weights.append(float(weight))
        city = next_city.strip()
    arr = np.asarray(weights, dtype=float)
    return tuple(cities), tuple(postcodes), arr / arr.sum()


CITY_NAMES, CITY_POSTCODES, CITY_WEIGHTS = _cities()
